/**
 * Evidence pcaps under failure (issue 19): a full disk leaves no empty or cut
 * pcap, logs once, and counts in the run summary and exit code; the disk
 * budget sizes names in batches.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { EvidenceDisk, EvidenceJanitor, EvidenceWriter } from "../../src/serve/evidence.ts";
import type { EveRecord } from "../../src/serve/eve.ts";
import { needPrograms, needRoot, testWhen } from "../_shared.ts";
import { monitorOnFullDisk } from "./_helpers.ts";

/** Whole classic pcap: a 24-byte header, then records whose lengths add up to the file's size. */
function wholePcap(b: Uint8Array): boolean {
  if (b.length < 24) return false;
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  if (dv.getUint32(0, true) !== 0xa1b2c3d4) return false;
  let off = 24, n = 0;
  while (off + 16 <= b.length) {
    off += 16 + dv.getUint32(off + 8, true);
    n++;
  }
  return off === b.length && n > 0;
}

// Before issue 19's fix this run exited 0 (evidence losses counted in sink_errors_total only), logged
// one line per failed pcap (~160 here) and could leave empty pcaps behind.
testWhen(
  [needRoot("a small tmpfs in a private mount namespace"), needPrograms("unshare", "mount", "sh")],
  "evidence on a full disk (64 KiB tmpfs): no partial pcap, one log line, counted in the summary, exit 3",
  async () => {
    const out = Deno.makeTempDirSync({ prefix: "nadir-evfull-" });
    const mnt = join(out, "mnt");
    Deno.mkdirSync(mnt);
    const cfg = join(out, "nadir.json");
    // The alerts file has room (it is outside the tmpfs): only the evidence runs out of space.
    Deno.writeTextFileSync(
      cfg,
      JSON.stringify({
        rules: { dedup_window_s: 0, per_host_per_minute: 0 },
        evidence: { dir: `${mnt}/ev` },
      }),
    );
    const r = await monitorOnFullDisk(
      mnt,
      `--config ${cfg} --alerts ${out}/alerts.jsonl`,
      `cp -r ${mnt}/ev ${out}/ev`,
    );
    const err = r.stderr;
    assert.equal(r.code, 3, `exit 3: the evidence record is incomplete\n${err}`);
    const logged = err.split("\n").filter((l) => l.includes("cannot write evidence"));
    assert.equal(logged.length, 1, `one line per kind of error:\n${err}`);
    const m = /(\d+) alerts raised, (\d+) written, (\d+) lost: No space left on device.*\(evidence sink\)/
      .exec(err);
    assert.ok(m, err);
    const [raised, written, lost] = [Number(m[1]), Number(m[2]), Number(m[3])];
    assert.equal(raised, 175);
    assert.ok(written > 0 && lost > 0, `${written} written, ${lost} lost`);
    assert.match(
      err,
      new RegExp(`evidence pcaps: ${written} written, ${lost} lost, ${raised - written - lost} `),
    );
    const alerts = Deno.readTextFileSync(join(out, "alerts.jsonl")).split("\n").filter(Boolean)
      .map((l) => JSON.parse(l) as { event_type: string; evidence?: string })
      .filter((a) => a.event_type === "alert"); // drift events share the file and have no pcap
    assert.equal(alerts.length, raised, "the alerts file had room: every alert written");
    const named = alerts.flatMap((a) => a.evidence ? [a.evidence] : []);
    assert.equal(named.length, written, "an alert names a pcap only when it was written");
    const files = [...Deno.readDirSync(join(out, "ev"))].map((e) => e.name).sort();
    assert.deepEqual(files, [...named].sort(), "no pcap left behind for a failed write");
    for (const f of files) {
      assert.ok(wholePcap(Deno.readFileSync(join(out, "ev", f))), `${f} is a whole pcap`);
    }
    Deno.removeSync(out, { recursive: true });
  },
);

Deno.test("evidence disk budget: names sized in batches, a name whose file never came is forgotten", () => {
  const dir = Deno.makeTempDirSync({ prefix: "nadir-evdisk-" });
  const disk = new EvidenceDisk(dir, { maxFiles: 1000 });
  for (let i = 0; i < 600; i++) {
    // Every 10th pcap's write "failed": named, never on disk.
    if (i % 10) Deno.writeFileSync(join(dir, `${i}.pcap`), new Uint8Array(100));
    disk.add(`${i}.pcap`);
  }
  disk.settle();
  disk.settle();
  assert.equal(disk.files, 540, "the 60 missing names are forgotten after two settles");
  assert.equal(disk.bytes, 540 * 100);
  Deno.removeSync(dir, { recursive: true });
});

Deno.test("evidence janitor: a pcap the monitor's writer just wrote is sized from the writer, others by stat()", () => {
  const dir = Deno.makeTempDirSync({ prefix: "nadir-evjan-" });
  const writer = new EvidenceWriter(dir);
  const disk = new EvidenceDisk(dir);
  const janitor = new EvidenceJanitor(disk, writer);
  const alert = (evidence: string) => ({ event_type: "alert", evidence }) as unknown as EveRecord;
  assert.equal(writer.write("a.pcap", new Uint8Array(100)), true);
  // Cut behind the writer's back: a stat() would now say 50; the size the writer wrote is taken.
  Deno.truncateSync(join(dir, "a.pcap"), 50);
  janitor.send(alert("a.pcap"));
  assert.equal(disk.bytes, 100, "no stat() for the pcap just written");
  // Another process's file (not the last one written): stat() sizes it.
  Deno.writeFileSync(join(dir, "b.pcap"), new Uint8Array(40));
  janitor.send(alert("b.pcap"));
  assert.equal(disk.bytes, 140);
  assert.equal(disk.files, 2);
  Deno.removeSync(dir, { recursive: true });
});
