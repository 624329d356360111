import assert from "node:assert/strict";
import { parseArgv, parseCommand } from "../../src/cli/command.ts";
import { UsageError } from "../../src/util/errors.ts";

const OPTS = {
  out: { type: "string" as const, short: "o" },
  tag: { type: "string" as const, multiple: true },
  verbose: { type: "boolean" as const, short: "v" },
  quiet: { type: "boolean" as const, short: "q" },
  n: { type: "string" as const },
};

Deno.test("parseArgv: long, short, =, --, -, repeats, several values, negative numbers", () => {
  const r = parseArgv(
    [
      "-o",
      "a.csv",
      "in.pcap",
      "--out=b.csv",
      "-vq",
      "--tag",
      "x",
      "--tag=",
      "--n",
      "-1.5",
      "-",
      "--",
      "-o",
      "--zz",
    ],
    OPTS,
  );
  assert.deepEqual(r.values, { out: "b.csv", verbose: true, quiet: true, tag: ["x", ""], n: "-1.5" });
  assert.deepEqual(r.positionals, ["in.pcap", "-", "-o", "--zz"]);
  assert.deepEqual(parseArgv([], OPTS), { values: {}, positionals: [] });
  assert.deepEqual(parseArgv(["--out=--odd"], OPTS).values, { out: "--odd" });
});

Deno.test("parseArgv: each misuse is a UsageError saying what was expected and found", () => {
  const cases: [string[], RegExp][] = [
    [["--bogus"], /^unknown option --bogus$/],
    [["-z"], /^unknown option -z$/],
    [["-vo", "x"], /"-vo": only options without a value can be given together/],
    [["--out"], /^option --out expects a value$/],
    [["-o"], /^option -o expects a value$/],
    [["--verbose=yes"], /^option --verbose takes no value, found "yes"$/],
    [
      ["--out", "--verbose"],
      /option --out expects a value, found the option "--verbose" \(write --out=--verbose/,
    ],
  ];
  for (const [argv, re] of cases) {
    assert.throws(
      () => parseArgv(argv, OPTS),
      (e: unknown) => e instanceof UsageError && re.test(e.message),
      argv.join(" "),
    );
  }
});

Deno.test("parseCommand: defaults, numbers, choices and positionals checked; errors name the command", () => {
  const cmd = {
    name: "x",
    summary: "",
    options: {
      k: { type: "number" as const, description: "", default: 3 },
      mode: { type: "string" as const, description: "", choices: ["a", "b"] },
    },
    positionals: [{ name: "IN", description: "" }],
  };
  assert.deepEqual(parseCommand(cmd, ["--k", "-2", "f"], ["x"]).options, {
    k: -2,
    mode: undefined,
    help: undefined,
  });
  assert.deepEqual(parseCommand(cmd, ["f"], ["x"]).options.k, 3);
  assert.throws(
    () => parseCommand(cmd, ["--k", "two", "f"], ["x"]),
    /nadir x: --k expects a number, found "two"$/,
  );
  assert.throws(() => parseCommand(cmd, ["--mode=c", "f"], ["x"]), /--mode expects one of a, b, found "c"/);
  assert.throws(() => parseCommand(cmd, [], ["x"]), /nadir x: missing argument IN \(see --help\)$/);
  assert.throws(() => parseCommand(cmd, ["f", "g"], ["x"]), /unexpected argument "g"/);
  assert.throws(
    () => parseCommand(cmd, ["--nope", "f"], ["x"]),
    /nadir x: unknown option --nope \(see --help\)$/,
  );
  assert.equal(parseCommand(cmd, ["-h"], ["x"]).options.help, true);
});

Deno.test("parseCommand: numbers are decimal; an output path is checked before the command runs", () => {
  const dir = Deno.makeTempDirSync({ prefix: "nadir-cli-out-" });
  const file = `${dir}/existing.txt`;
  Deno.writeTextFileSync(file, "x");
  const cmd = {
    name: "x",
    summary: "",
    options: {
      k: { type: "number" as const, description: "" },
      out: { type: "string" as const, description: "", writes: "file" as const },
      model: { type: "string" as const, description: "", writes: "dir" as const },
    },
    positionals: [{ name: "OUT", description: "", optional: true, writes: "file" as const }],
  };
  for (const v of ["1.5", "-2", "1e3", ".5", "+7"]) {
    assert.equal(parseCommand(cmd, ["--k", v], ["x"]).options.k, Number(v));
  }
  for (const v of ["0x10", "0b1", " ", "1_000", "Infinity"]) {
    assert.throws(() => parseCommand(cmd, ["--k", v], ["x"]), /--k expects a number/, v);
  }
  // New files in an existing folder, an existing file, /dev/null, a new or existing model folder: fine.
  parseCommand(cmd, ["--out", `${dir}/new.csv`, "--model", `${dir}/m/sub`, `${dir}/o.csv`], ["x"]);
  parseCommand(cmd, ["--out", file, "--model", dir, "/dev/null"], ["x"]);
  assert.throws(
    () => parseCommand(cmd, ["--out", `${dir}/no/such/x.csv`], ["x"]),
    new RegExp(`^UsageError: nadir x: --out ${dir}/no/such/x.csv: directory ${dir}/no/such does not exist$`),
  );
  assert.throws(
    () => parseCommand(cmd, ["--out", dir], ["x"]),
    /nadir x: --out .* is a directory; expected a file$/,
  );
  assert.throws(
    () => parseCommand(cmd, [`${file}/x.csv`], ["x"]),
    /nadir x: OUT .*: .*existing.txt is not a directory$/,
  );
  assert.throws(
    () => parseCommand(cmd, ["--model", file], ["x"]),
    /--model .* is a file; expected a directory/,
  );
  assert.ok(
    parseCommand(cmd, ["--out", dir, "-h"], ["x"]).options.help,
    "--help is not refused for a bad path",
  );
  Deno.removeSync(dir, { recursive: true });
});

Deno.test("parseCommand: integer, min and max of a number option are checked, the range said", () => {
  const cmd = {
    name: "x",
    summary: "",
    options: {
      n: { type: "number" as const, description: "", integer: true, min: 1 },
      t: { type: "number" as const, description: "", min: 0 },
      y: { type: "number" as const, description: "", integer: true, min: 1970, max: 2100 },
    },
  };
  assert.deepEqual(parseCommand(cmd, ["--n", "3", "--t", "0", "--y", "2026"], ["x"]).options, {
    n: 3,
    t: 0,
    y: 2026,
    help: undefined,
  });
  // Accepted before: a table cap of 1.5 flows, a negative tolerance, the year 99999.
  assert.throws(() => parseCommand(cmd, ["--n", "1.5"], ["x"]), /--n expects an integer ≥ 1, found "1\.5"$/);
  assert.throws(() => parseCommand(cmd, ["--n", "0"], ["x"]), /--n expects an integer ≥ 1, found "0"$/);
  assert.throws(() => parseCommand(cmd, ["--t", "-5"], ["x"]), /--t expects a number ≥ 0, found "-5"$/);
  assert.throws(
    () => parseCommand(cmd, ["--y", "99999"], ["x"]),
    /--y expects an integer 1970–2100, found "99999"$/,
  );
});

Deno.test("commands' options: adapt, ids and pretrain refuse values outside their ranges in one line", async () => {
  const { main } = await import("../../src/cli.ts");
  const errors: string[] = [];
  const orig = console.error;
  console.error = (...a: unknown[]) => void errors.push(a.join(" "));
  try {
    // Each had been accepted (changing results), or had ended in a stack trace.
    for (
      const argv of [
        ["adapt", "x.ts", "--max-learn", "-3"],
        ["adapt", "x.ts", "--accept-quantile", "1.5"],
        ["adapt", "x.ts", "--window", "0"],
        ["adapt", "x.ts", "--pick", "bogus"],
        ["pretrain", "x.pcap", "--max-rows", "2.5"],
        ["ids", "eval", "--tolerance-ms", "-5"],
        ["ids", "parse", "x.json", "--year", "-5"],
        ["ids", "parse", "x.json", "--tz-offset", "99999"],
      ]
    ) assert.equal(await main(argv), 2, argv.join(" "));
    // One capture twice had counted its flows twice (copies in both training and held-out rows).
    assert.equal(await main(["pretrain", "data/pcaps/http_espn.pcapng", "./data/pcaps/http_espn.pcapng"]), 2);
    assert.match(errors.at(-1)!, /\.\/data\/pcaps\/http_espn\.pcapng is given twice/);
    assert.equal(await main(["ids", "eval", "--id", "../../escape"]), 2);
    assert.match(errors.at(-1)!, /--id expects a folder name .* found "\.\.\/\.\.\/escape"/);
  } finally {
    console.error = orig;
  }
});
