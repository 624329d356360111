import assert from "node:assert/strict";
import { dataPath, nadir } from "./_helpers.ts";
import { parseSums, verifyData } from "../../src/data/verify.ts";
import { scratchDir } from "../_scratch.ts";

Deno.test("nadir data info prints exactly one JSON object with the expected counts", async () => {
  const r = await nadir("data", "info", "nsl-kdd-train");
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout.trim().split("\n").length, 1);
  assert.deepEqual(JSON.parse(r.stdout), {
    dataset: "nsl-kdd-train",
    rows: 125973,
    columns: 45,
    features: 41,
    label_counts: { "0": 67343, "1": 58630 },
    category_counts: { normal: 67343, DoS: 45927, Probe: 11656, R2L: 995, U2R: 52 },
  });
  const c = await nadir("data", "info", "cic-ids2017", "--path", dataPath("cic-ids2017"));
  assert.equal(c.code, 0, c.stderr);
  const j = JSON.parse(c.stdout);
  assert.equal(j.rows, 25127);
  assert.equal(j.label_counts["0"], 2500);
  assert.equal(j.features, 82);
  const h = await nadir("data", "info", "nsl-kdd-test", "--features", "kdd-header");
  assert.equal(JSON.parse(h.stdout).features, 28);
});

Deno.test("nadir data info --batch-rows: read in chunks, the same object as the whole file", async () => {
  const path = dataPath("nsl-kdd", "KDDTest+.txt.gz");
  const whole = await nadir("data", "info", "nsl-kdd", "--path", path);
  const chunked = await nadir("data", "info", "nsl-kdd", "--path", path, "--batch-rows", "5000");
  assert.equal(chunked.code, 0, chunked.stderr);
  assert.equal(chunked.stdout, whole.stdout);
  assert.equal(JSON.parse(chunked.stdout).rows, 22544);
  const bad = await nadir("data", "info", "nsl-kdd-test", "--batch-rows", "100");
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /give --path FILE/);
});

Deno.test("nadir data info: usage errors exit 2, missing path for unsw-nb15 is explained", async () => {
  const r = await nadir("data", "info");
  assert.equal(r.code, 2);
  assert.match(r.stderr, /missing argument dataset/);
  const u = await nadir("data", "info", "unsw-nb15");
  assert.equal(u.code, 2);
  assert.match(u.stderr, /give its path/);
});

Deno.test("nadir data list names every dataset", async () => {
  const r = await nadir("data", "list", "--json");
  assert.equal(r.code, 0);
  const names = r.stdout.trim().split("\n").map((l) => JSON.parse(l).name);
  assert.deepEqual(names, [
    "nsl-kdd-train",
    "nsl-kdd-train-20",
    "nsl-kdd-test",
    "nsl-kdd-test-21",
    "kdd99-train",
    "kdd99-test",
    "cic-ids2017",
    "unsw-nb15",
  ]);
});

Deno.test("nadir data verify: exit 0 on the tree, 1 naming a changed or missing file", async () => {
  const ok = await nadir("data", "verify");
  assert.equal(ok.code, 0, ok.stderr);
  assert.match(ok.stdout, /^verified \d+ files/);
  // A copy of part of data/ with one byte changed and one file missing.
  const dir = scratchDir("nadir-test-");
  Deno.mkdirSync(`${dir}/nsl-kdd`);
  Deno.mkdirSync(`${dir}/kdd99`);
  const sums = parseSums(Deno.readTextFileSync(dataPath("SHA256SUMS")));
  const pick = sums.filter((s) => s.path.startsWith("nsl-kdd/") || s.path === "kdd99/corrected.gz");
  for (const s of pick.filter((s) => s.path !== "nsl-kdd/KDDTest-21.txt.gz")) {
    Deno.copyFileSync(dataPath(s.path), `${dir}/${s.path}`);
  }
  const bytes = Deno.readFileSync(`${dir}/kdd99/corrected.gz`);
  bytes[1000] ^= 1;
  Deno.writeFileSync(`${dir}/kdd99/corrected.gz`, bytes);
  Deno.writeTextFileSync(`${dir}/SHA256SUMS`, pick.map((s) => `${s.sha256}  ${s.path}`).join("\n") + "\n");
  const bad = await nadir("data", "verify", "--data-dir", dir);
  assert.equal(bad.code, 1);
  // Named under the directory checked, not the repository's data/.
  assert.ok(bad.stderr.includes(`${dir}/kdd99/corrected.gz: sha256 mismatch`), bad.stderr);
  assert.ok(bad.stderr.includes(`${dir}/nsl-kdd/KDDTest-21.txt.gz: missing`), bad.stderr);
  const r = await verifyData(dir);
  assert.equal(r.ok.length, pick.length - 2);
});

Deno.test("data verify: a listed path outside the data directory, or listed twice, is an error; a BOM is not", () => {
  const sum = "0".repeat(64);
  // "../../../../etc/hostname" had passed as a verified vendored file.
  for (const p of ["../../../../etc/hostname", "sub/../../x", "/etc/hostname"]) {
    assert.throws(
      () => parseSums(`${sum}  a.txt\n${sum}  ${p}\n`, "S"),
      new RegExp(
        `^InputError: S:2: expected a path inside the data directory, found "${p.replace(/\./g, "\\.")}"$`,
      ),
    );
  }
  assert.throws(
    () => parseSums(`${sum}  a.txt\n${sum}  ./a.txt\n`, "S"),
    /S:2: "a\.txt" is listed twice \(lines 1 and 2\)/,
  );
  assert.deepEqual(parseSums(`\uFEFF${sum}  a.txt\r\n`, "S").map((e) => e.path), ["a.txt"]);
});

Deno.test("data/SOURCES.md lists every file of data/SHA256SUMS with the same sha256", () => {
  const sources = Deno.readTextFileSync(dataPath("SOURCES.md"));
  const sums = parseSums(Deno.readTextFileSync(dataPath("SHA256SUMS")));
  assert.ok(sums.length >= 50);
  for (const s of sums) {
    const row = sources.split("\n").find((l) => l.includes(`\`${s.path}\``));
    assert.ok(row, `SOURCES.md has no row for ${s.path}`);
    assert.ok(row.includes(s.sha256), `SOURCES.md row for ${s.path} lacks its sha256`);
  }
});
