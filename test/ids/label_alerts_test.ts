import assert from "node:assert/strict";
import { join } from "node:path";
import { dataPath, needShared, ROOT, sharedPath, testWhen } from "../_shared.ts";

const TUESDAY_MID = ["alerts", "snort3-cicids2017", "Tuesday_mid.json"];

testWhen(
  [needShared("Snort 3 Tuesday_mid alerts", ...TUESDAY_MID)],
  "nadir label FLOWS --alerts FILE labels CIC FTP-Patator flows from real Snort 3 alerts",
  async () => {
    const alerts = sharedPath(...TUESDAY_MID);
    const dir = await Deno.makeTempDir({ prefix: "nadir-label-" });
    try {
      const gz = await Deno.readFile(dataPath("cic-ids2017", "FTP-Patator_2500.csv.gz"));
      const csv = await new Response(new Blob([gz]).stream().pipeThrough(new DecompressionStream("gzip")))
        .arrayBuffer();
      await Deno.writeFile(join(dir, "ftp.csv"), new Uint8Array(csv));
      const p = await new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "-A",
          "--unstable-ffi",
          join(ROOT, "src", "cli.ts"),
          "label",
          join(dir, "ftp.csv"),
          "--alerts",
          alerts,
          "--year",
          "2017",
          "--out",
          join(dir, "out.csv"),
        ],
        env: { NADIR_PROGRESS: "0", NO_COLOR: "1" },
        stdout: "piped",
        stderr: "piped",
      }).output();
      assert.equal(p.code, 0, new TextDecoder().decode(p.stderr));
      const summary = JSON.parse(new TextDecoder().decode(p.stdout));
      assert.equal(summary.flows, 2500);
      // Snort's FTP brute-force rules fire on the Tuesday-mid window: 410 of the sample's FTP-Patator flows
      assert.equal(summary.labels.attack, 410);
      assert.equal(summary.alerts, 4037);
      const out = await Deno.readTextFile(join(dir, "out.csv"));
      assert.match(out.split("\n")[0], /,label,attack,ids_alerts,ids_rules,category/);
      const bad = await new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "-A",
          join(ROOT, "src", "cli.ts"),
          "label",
          join(dir, "ftp.csv"),
          "--alerts",
          alerts,
          "--rules",
          "x.json",
        ],
        stdout: "piped",
        stderr: "piped",
      }).output();
      assert.equal(bad.code, 2);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
);

Deno.test("nadir ids run without the engine on PATH exits 1 and points to recorded alerts", async () => {
  const p = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      join(ROOT, "src", "cli.ts"),
      "ids",
      "run",
      "--engine",
      "suricata",
      "--pcap",
      dataPath("pcaps", "synscan.pcapng"),
    ],
    env: { PATH: "/nonexistent", NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(p.code, 1);
  const err = new TextDecoder().decode(p.stderr);
  assert.match(err, /suricata is not installed/);
  assert.match(err, /snort3-cicids2017/);
});
