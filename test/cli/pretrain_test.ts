/** End to end through the real CLI: `nadir pretrain` on captures → `nadir train --init` on a site's flows. */
import assert from "node:assert/strict";
import { join } from "node:path";
import { dataPath, nadir } from "../_shared.ts";

Deno.test("cli: nadir pretrain on captures, then train --init fine-tunes the checkpoint on a flows file", async () => {
  const tmp = await Deno.makeTempDir({ prefix: "nadir-cli-pretrain-" });
  try {
    const ckpt = join(tmp, "ckpt"), site = join(tmp, "site.csv"), tuned = join(tmp, "tuned");
    const pre = await nadir(
      "pretrain",
      dataPath("pcaps", "synscan.pcapng"),
      dataPath("pcaps", "zeek-dhcp-dhcp_flood.pcap"),
      "--out",
      ckpt,
      ...["--param", "epochs=2", "--param", "width=8", "--param", "heads=2"],
    );
    assert.equal(pre.code, 0, pre.stderr);
    const summary = JSON.parse(pre.stdout);
    assert.equal(summary.files, 2);
    assert.ok(summary.flows > 1000);
    const manifest = JSON.parse(await Deno.readTextFile(join(ckpt, "manifest.json")));
    assert.equal(manifest.features.set, "cic");
    assert.deepEqual(
      manifest.training.pretrain.files.map((f: { file: string }) => f.file.split("/").pop()),
      ["synscan.pcapng", "zeek-dhcp-dhcp_flood.pcap"],
    );

    const flows = await nadir(
      "flows",
      dataPath("pcaps", "zeek-http-bro.org.pcap"),
      "--features",
      "cic",
      "--out",
      site,
    );
    assert.equal(flows.code, 0, flows.stderr);
    const ft = await nadir("train", "--init", ckpt, "--path", site, "--assume-benign", "--out", tuned);
    assert.equal(ft.code, 0, ft.stderr);
    assert.equal(JSON.parse(ft.stdout).detector, "flow-lm");
    const tm = JSON.parse(await Deno.readTextFile(join(tuned, "manifest.json")));
    assert.equal(tm.training.initFrom.dir, ckpt);
    assert.deepEqual(tm.features.names, manifest.features.names);
    assert.equal(tm.detector.params.width, 8);

    const shape = await nadir(
      "train",
      "--init",
      ckpt,
      "--path",
      site,
      "--assume-benign",
      "--param",
      "width=16",
    );
    assert.notEqual(shape.code, 0);
    assert.match(shape.stderr, /cannot change width when fine-tuning/);
    const other = await nadir(
      "train",
      "--init",
      ckpt,
      "--detector",
      "knn",
      "--path",
      site,
      "--assume-benign",
    );
    assert.equal(other.code, 2);
    assert.match(other.stderr, /--detector knn differs from the --init model's detector flow-lm/);
    const none = await nadir("pretrain");
    assert.equal(none.code, 2);
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});
