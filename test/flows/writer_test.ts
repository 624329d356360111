import assert from "node:assert/strict";
import { csvField, CsvSink } from "../../src/flows/writer.ts";

Deno.test("CsvSink writes the same text as csvField joins (integer fast paths, floats, quoting, UTF-8)", async () => {
  const vals: (number | string)[] = [
    0,
    -0,
    1,
    -1,
    9,
    10,
    99,
    100,
    2147483647,
    -2147483648,
    2147483648,
    1e9,
    1e9 + 1,
    1700000000123,
    -1700000000123,
    9007199254740991,
    2 ** 53,
    1.5,
    -0.25,
    1e21,
    1e-7,
    NaN,
    Infinity,
    0.1 + 0.2,
    4294967295,
    "a,b",
    'q"x',
    "é ✓",
    "",
    "192.168.0.1",
    "line\nbreak",
    "fe80::1",
  ];
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/rows.csv`;
    const sink = new CsvSink(path);
    sink.header([{ name: "a", type: "int" }, { name: "b,c", type: "str" }]);
    // enough rows to cross the 1 MiB buffer several times
    for (let i = 0; i < 20000; i++) sink.row(vals);
    await sink.close();
    const expected = 'a,"b,c"\n' + (vals.map(csvField).join(",") + "\n").repeat(20000);
    const got = await Deno.readTextFile(path);
    assert.equal(got.length, expected.length);
    assert.ok(got === expected, "CSV text differs from csvField formatting");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("basic writeRow through CsvSink equals row() + csvField on a real capture", async () => {
  const { meterFile } = await import("../../src/flows/pipeline.ts");
  const { basicFeatures } = await import("../../src/flows/features/basic.ts");
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/fast.csv`;
    const sink = new CsvSink(path);
    const s = await meterFile("data/pcaps/zeek-ftp-bruteforce.pcap", {
      features: "basic",
      onColumns: (c) => sink.header(c),
      onRow: () => assert.fail("onRow must not be called when a writer takes the rows"),
      writer: sink,
    });
    await sink.close();
    const lines: string[] = [basicFeatures.columns.map((c) => csvField(c.name)).join(",")];
    await meterFile("data/pcaps/zeek-ftp-bruteforce.pcap", {
      features: "basic",
      onRow: (r) => lines.push(r.map(csvField).join(",")),
    });
    assert.ok(s.flows > 10);
    const got = await Deno.readTextFile(path);
    assert.equal(got.split("\n").length - 2, s.flows);
    assert.ok(got === lines.join("\n") + "\n", "fast CSV path differs from row() + csvField");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("CsvSink's short-decimal fast path prints what String() prints (seeded random doubles near 3 decimals)", async () => {
  let seed = 12345;
  const rnd = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32;
  const vals: number[] = [
    0.1,
    0.2,
    0.1 + 0.2,
    999999999.999,
    999999999.5,
    1e9 + 0.5,
    0.001,
    0.0015,
    -0.001,
    1.005,
    2.675,
  ];
  for (let i = 0; i < 200_000; i++) {
    const k = i % 6;
    vals.push(
      k === 0
        ? Math.round(rnd() * 1e6) / 4
        : k === 1
        ? Math.round(rnd() * 1e7) / 1000
        : k === 2
        ? -Math.round(rnd() * 1e12) / 1000
        : k === 3
        ? Math.round(rnd() * 1e4) / 10000 + Math.floor(rnd() * 1e9)
        : k === 4
        ? (rnd() - 0.5) * 10 ** Math.floor(rnd() * 24 - 12)
        : rnd() * 10 ** Math.floor(rnd() * 12),
    );
  }
  const got = await csvLines(vals);
  const bad = vals.filter((v, i) => got[i] !== String(v));
  assert.deepEqual(
    bad.slice(0, 5),
    [],
    `${bad.length} of ${vals.length} numbers print differently from String()`,
  );
});

/** The lines CsvSink writes for `vals`: one num() a line, then (with `all`) every value on one line by nums(). */
async function csvLines(vals: number[], all = false): Promise<string[]> {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/numbers.csv`;
    const sink = new CsvSink(path);
    for (const v of vals) {
      sink.num(v);
      sink.end();
    }
    if (all) {
      sink.nums(Float64Array.from(vals), vals.length);
      sink.end();
    }
    await sink.close();
    return (await Deno.readTextFile(path)).split("\n");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("CsvSink ip6 prints what the Flow getters print", async () => {
  const { formatIpv6Words } = await import("../../src/capture/decode.ts");
  const addrs = [[0, 0, 0, 1], [0x20010db8, 0, 0, 1], [0, 0, 0xffff, 0xc0000201], [-1, -1, -1, -1], [
    0xfe800000,
    0,
    0x02163eff,
    0xfe0a0b0c,
  ]];
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/addr6.csv`;
    const sink = new CsvSink(path);
    for (const [a, b, c, d] of addrs) {
      sink.num(7);
      sink.ip6(a, b, c, d);
      sink.end();
    }
    await sink.close();
    const expected = addrs.map(([a, b, c, d]) => `7,${formatIpv6Words(a, b, c, d)}\n`).join("");
    assert.equal(await Deno.readTextFile(path), expected);
    assert.equal(formatIpv6Words(0, 0, 0xffff, 0xc0000201), "::ffff:192.0.2.1");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("CsvSink ip4/mac48 print what the Flow getters print", async () => {
  const { formatIp4, formatMac48 } = await import("../../src/flows/meter.ts");
  const ips = [0, 1, 0xffffffff, 0x7f000001, 0xc0a80001, 0x0a00000a, 0x80000000, 0x01020304];
  const macs: [number, number][] = [[0, 0], [0xffffff, 0xffffff], [0x00163e, 0x0a0b0c], [0x102030, 0xabcdef]];
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/addr.csv`;
    const sink = new CsvSink(path);
    for (const x of ips) {
      for (const [hi, lo] of macs) {
        sink.num(7);
        sink.ip4(x);
        sink.mac48(hi, lo);
        sink.end();
      }
    }
    await sink.close();
    const expected = ips.flatMap((x) => macs.map(([hi, lo]) => `7,${formatIp4(x)},${formatMac48(hi, lo)}\n`))
      .join("");
    assert.equal(await Deno.readTextFile(path), expected);
    assert.equal(formatIp4(0xc0a80001), "192.168.0.1");
    assert.equal(formatMac48(0x00163e, 0x0a0b0c), "00:16:3e:0a:0b:0c");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("CsvSink num() and nums() print integers of every digit count as String() does", async () => {
  // Seeded (xorshift) integers of 1–16 digits, both signs, plus each power of ten and its neighbours.
  let seed = 12345;
  const rand = () => {
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    return (seed >>> 0) / 4294967296;
  };
  const vals: number[] = [];
  for (let d = 0; d <= 15; d++) {
    const p = 10 ** d;
    vals.push(p - 1, p, p + 1, -p);
    for (let k = 0; k < 50; k++) vals.push(Math.floor(p + rand() * 9 * p) * (k % 2 ? -1 : 1));
  }
  const lines = await csvLines(vals, true);
  const want = vals.map(String);
  assert.deepEqual(lines.slice(0, vals.length), want);
  assert.equal(lines[vals.length], want.join(","));
});
