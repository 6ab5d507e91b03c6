/**
 * QR codes for machine labels: each code opens that machine's card on the board.
 * @module
 */

import { machineUrl } from "./notify/plan.ts";

type QRCodeLib = typeof import("qrcode");
let qrcode: Promise<QRCodeLib> | null = null;

/**
 * `npm:qrcode`, imported when the first label sheet is drawn: loading it
 * boots Deno's Node compatibility layer (~60 ms), which every server start
 * paid for a page admins open now and then (bench "Page weight and start").
 */
function qrLib(): Promise<QRCodeLib> {
  return qrcode ??= import("qrcode").then((m) => (m.default ?? m) as QRCodeLib);
}

/**
 * The absolute URL a machine's QR code encodes: `<origin>/?building=<bid>&m=<machineId>`,
 * the path its notifications open ({@link machineUrl}).
 * `origin` is PUBLIC_URL when configured, else the request's origin.
 */
export function machineCardUrl(
  origin: string,
  buildingId: string,
  machineId: string,
): string {
  return new URL(machineUrl(machineId, buildingId), origin).href;
}

/** Renders `text` as a standalone SVG QR code (error correction M, quiet zone 4). */
export async function qrSvg(text: string): Promise<string> {
  return await (await qrLib()).toString(text, {
    type: "svg",
    errorCorrectionLevel: "M",
    margin: 4,
  });
}
