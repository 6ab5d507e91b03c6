/**
 * Push throughput section: starts the sink (bench/push_sink.mjs, its own
 * process, HTTP + HTTPS with a throwaway CA made by openssl), then runs
 * bench/push_bench.ts once per mode in a fresh process each, and collects
 * messages per CPU-second of the sending process.
 * @module
 */
import { BENCH, LoadWatch, ROOT, spawn, waitQuiet } from "./common.ts";

export interface PushMode {
  mode: string;
  count?: number;
  concurrency?: number;
  cpuMs?: number;
  wallMs?: number;
  perCpuSecond?: number;
  perWallSecond?: number;
  cpuUsPerMessage?: number;
  failed?: number;
  firstError?: string;
  works?: boolean;
  error?: string;
  otherCpuPct?: number;
}

export interface PushResult {
  modes: PushMode[];
  tls: boolean;
}

async function run(cmd: string, args: string[], cwd: string): Promise<boolean> {
  const o = await new Deno.Command(cmd, { args, cwd, stdout: "null", stderr: "null" }).output()
    .catch(() => null);
  return !!o?.success;
}

/** A throwaway CA and a leaf certificate for 127.0.0.1 (rustls refuses a self-signed leaf). */
async function makeCerts(dir: string): Promise<boolean> {
  await Deno.writeTextFile(
    `${dir}/leaf.ext`,
    "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=serverAuth\n",
  );
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"];
  return await run("openssl", [
    "req",
    "-x509",
    ...ec,
    "-keyout",
    "ca.key",
    "-out",
    "ca.pem",
    "-days",
    "1",
    "-subj",
    "/CN=LaundryLive bench CA",
  ], dir) &&
    await run("openssl", [
      "req",
      ...ec,
      "-keyout",
      "leaf.key",
      "-out",
      "leaf.csr",
      "-subj",
      "/CN=127.0.0.1",
    ], dir) &&
    await run("openssl", [
      "x509",
      "-req",
      "-in",
      "leaf.csr",
      "-CA",
      "ca.pem",
      "-CAkey",
      "ca.key",
      "-CAcreateserial",
      "-out",
      "leaf.pem",
      "-days",
      "1",
      "-extfile",
      "leaf.ext",
    ], dir);
}

export async function runPush(
  opts: { count: number; modes: string[]; log: (s: string) => void },
): Promise<PushResult> {
  const dir = await Deno.makeTempDir({ prefix: "laundrylive-push-" });
  const tls = await makeCerts(dir);
  const sink = await spawn("push-sink", "node", [`${BENCH}/push_sink.mjs`], {
    env: tls ? { SINK_CERT: `${dir}/leaf.pem`, SINK_KEY: `${dir}/leaf.key` } : {},
  });
  try {
    const m = await sink.waitFor(/SINK http=(\S+) https=(\S+)/);
    const [http, https] = [m[1], m[2]];
    const modes: PushMode[] = [];
    for (const mode of opts.modes) {
      if ((mode.endsWith("-https") || mode === "plain-sendnotification") && https === "-") {
        modes.push({ mode, error: "no TLS sink (openssl missing?)" });
        continue;
      }
      await waitQuiet(() => [sink.pid], 3_000);
      const p = await spawn(`push-${mode}`, Deno.execPath(), [
        "run",
        "-A",
        `${BENCH}/push_bench.ts`,
        mode,
        `--sink=${http}`,
        `--sink-https=${https}`,
        `--ca=${dir}/ca.pem`,
        `--count=${opts.count}`,
        "--warmup=100",
        "--concurrency=16",
      ], { cwd: ROOT });
      // Other processes' CPU while the worker runs (the worker and sink are ours).
      const w = new LoadWatch(() => [sink.pid, p.pid]);
      try {
        const r = await p.waitFor(/RESULT (.+)/, 180_000);
        const res = JSON.parse(r[1]) as PushMode;
        res.otherCpuPct = w.stop();
        // The workers' own CPU is measured inside; other processes are noted.
        modes.push(res);
        opts.log(
          res.perCpuSecond
            ? `    ${mode}: ${Math.round(res.perCpuSecond)} msgs/CPU-s (${
              res.cpuUsPerMessage?.toFixed(0)
            } µs/msg), ${Math.round(res.perWallSecond!)} msgs/s wall, ${res.failed} failed`
            : `    ${mode}: ${JSON.stringify(res)}`,
        );
      } catch (err) {
        modes.push({ mode, error: String(err).slice(0, 300) });
        opts.log(`    ${mode}: FAILED ${String(err).slice(0, 300)}`);
      } finally {
        await p.kill();
      }
    }
    return { modes, tls };
  } finally {
    await sink.kill();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}
