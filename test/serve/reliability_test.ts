/**
 * Regressions from the attack-minded review (issue 19), each built from its
 * reproduction: the monitor must not die on ordinary traffic.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { dataPath, nadir } from "../_shared.ts";

Deno.test("monitor: KitNET survives a host pair silent for > 215 s (zeek-ssh-ssh.pcap; decay underflow gave NaN)", async () => {
  const dir = await Deno.makeTempDir({ prefix: "nadir-rel-" });
  try {
    const alerts = join(dir, "a.jsonl");
    const r = await nadir(
      "monitor",
      "--pcap",
      dataPath("pcaps", "zeek-ssh-ssh.pcap"),
      "--detector",
      "kitnet",
      "--grace",
      "1000",
      "--alerts",
      alerts,
    );
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /1797 packets/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
