/**
 * Fault reports: a resident's "something is wrong with this machine" (one
 * open report per resident and machine; reporting again replaces it). The
 * admin sees them grouped by machine; the repair closes them and tells the
 * reporters, in the repair's own commit (`MachineStore.command`).
 * @module
 */
import { K } from "../keys.ts";
import { StoreError } from "../store_error.ts";
import type { FaultCategory, FaultReport, User } from "../types.ts";
import { NoticeStore } from "./notices.ts";

/** Reports kept per machine at most (the oldest beyond are not shown). */
export const REPORTS_PER_MACHINE = 50;

/** Fault reports. */
export abstract class ReportStore extends NoticeStore {
  /** File (or replace) `user`'s report about a machine of building `bid`. */
  async addReport(
    bid: string,
    machineId: string,
    user: User,
    input: { category: FaultCategory; note: string },
  ): Promise<FaultReport> {
    if (!(await this.getMachine(bid, machineId))) {
      throw new StoreError("not_found", "No such machine.");
    }
    const report: FaultReport = {
      machineId,
      userId: user.id,
      name: user.name,
      room: user.room,
      category: input.category,
      note: input.note,
      createdAt: Date.now(),
    };
    await this.kv.set(K.report(bid, machineId, user.id), report);
    return report;
  }

  /** The open reports of one machine, oldest first. */
  async machineReports(bid: string, machineId: string): Promise<FaultReport[]> {
    const out: FaultReport[] = [];
    for await (
      const e of this.kv.list<FaultReport>({ prefix: K.machineReports(bid, machineId) }, {
        limit: REPORTS_PER_MACHINE,
      })
    ) out.push(e.value);
    return out.sort((a, b) => a.createdAt - b.createdAt);
  }

  /** A building's open reports, grouped by machine (machines with reports only). */
  async listReports(bid: string): Promise<Record<string, FaultReport[]>> {
    const out: Record<string, FaultReport[]> = {};
    for await (const e of this.kv.list<FaultReport>({ prefix: K.reports(bid) })) {
      (out[e.value.machineId] ??= []).push(e.value);
    }
    for (const list of Object.values(out)) list.sort((a, b) => a.createdAt - b.createdAt);
    return out;
  }
}
