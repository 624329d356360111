/**
 * The shape every CLI command has. A command declares its options and
 * positionals; {@link parseCommand} validates the argv against them, so usage
 * errors are uniform (exit 2, one line) and `--help` is generated.
 *
 * @module
 */
import { textNumber } from "../data/number_text.ts";
import { UsageError } from "../util/errors.ts";
import { parentDir, statIfExists } from "../util/fs.ts";

/** One `--flag`. */
export interface OptionSpec {
  type: "string" | "boolean" | "number";
  description: string;
  short?: string;
  /** Allowed values for string options. */
  choices?: readonly string[];
  /** Value name shown in help (`--out FILE`). */
  arg?: string;
  default?: string | boolean | number;
  /** May be given several times (values collected into an array). */
  multiple?: boolean;
  /** Number options: a whole number only. */
  integer?: boolean;
  /** Number options: the smallest value allowed. */
  min?: number;
  /** Number options: the largest value allowed. */
  max?: number;
  /** The option names a file (or a directory) the command writes: checked before any work, see {@link writablePath}. */
  writes?: "file" | "dir";
}

/** One positional argument. */
export interface PositionalSpec {
  name: string;
  description: string;
  optional?: boolean;
  /** Takes all remaining positionals. */
  variadic?: boolean;
  /** The argument names a file the command writes (see {@link OptionSpec.writes}). */
  writes?: "file" | "dir";
}

/** Parsed, typed arguments handed to {@link Command.run}. */
export interface ParsedArgs {
  options: Record<string, string | boolean | number | string[] | undefined>;
  positionals: string[];
}

/** A CLI command (`nadir <name> ...`). Subcommands nest (`nadir capture list`). */
export interface Command {
  name: string;
  summary: string;
  /** Extra help text (examples, notes) printed after the option list. */
  details?: string;
  /**
   * Help text computed when `--help` is asked (e.g. the registered detectors), printed after `details`;
   * kept out of `details` so that listing commands does not load what it reads.
   */
  moreHelp?: () => Promise<string> | string;
  options?: Record<string, OptionSpec>;
  positionals?: PositionalSpec[];
  subcommands?: Command[];
  /** Returns the exit code (default 0). */
  run?: (args: ParsedArgs) => Promise<number | void> | number | void;
}

/** Help text for a command. */
export function helpText(cmd: Command, path: string[]): string {
  const lines: string[] = [];
  const pos = (cmd.positionals ?? []).map((p) => {
    const n = p.name + (p.variadic ? "..." : "");
    return p.optional ? `[${n}]` : n;
  });
  const usage = ["deno task nadir", ...path, ...(cmd.subcommands ? ["<command>"] : []), ...pos];
  if (cmd.options && Object.keys(cmd.options).length) usage.push("[options]");
  lines.push(`Usage: ${usage.join(" ")}`, "", cmd.summary);
  if (cmd.subcommands?.length) {
    lines.push("", "Commands:");
    const w = Math.max(...cmd.subcommands.map((c) => c.name.length));
    for (const c of cmd.subcommands) lines.push(`  ${c.name.padEnd(w)}  ${c.summary}`);
  }
  if (cmd.positionals?.length) {
    lines.push("", "Arguments:");
    const w = Math.max(...cmd.positionals.map((p) => p.name.length));
    for (const p of cmd.positionals) lines.push(`  ${p.name.padEnd(w)}  ${p.description}`);
  }
  const opts = Object.entries(cmd.options ?? {});
  opts.push(["help", { type: "boolean", short: "h", description: "Show this help" }]);
  lines.push("", "Options:");
  const flag = ([name, o]: [string, OptionSpec]) =>
    `${o.short ? `-${o.short}, ` : "    "}--${name}${
      o.type === "boolean" ? "" : ` ${o.arg ?? (o.choices ? o.choices.join("|") : o.type.toUpperCase())}`
    }`;
  const w = Math.max(...opts.map((o) => flag(o).length));
  for (const o of opts) {
    const d = o[1].default !== undefined ? ` (default: ${o[1].default})` : "";
    lines.push(`  ${flag(o).padEnd(w)}  ${o[1].description}${d}`);
  }
  if (cmd.details) lines.push("", cmd.details.trim());
  return lines.join("\n");
}

/** What {@link parseArgv} needs of an option. */
export interface ArgvOption {
  type: "string" | "boolean";
  short?: string;
  multiple?: boolean;
}

/**
 * Splits argv into option values and positionals, strictly: `--name value`, `--name=value`, `-x value`,
 * boolean `--flag` and `-abc` (boolean short options together), `--` ending the options, `-` a
 * positional. A string option's value may not look like an option unless it is a number (`--threshold -1`)
 * or is given with `=`; an option given twice keeps the last value, unless it takes several (`multiple`).
 * Written for nadir instead of node:util's parseArgs, whose polyfill cost every command ~20 ms of start-up
 * (a tenth of metering a small capture).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseArgv } from "./command.ts";
 * const r = parseArgv(["a.pcap", "--out=x.csv", "-v", "--n", "-2", "--", "--b"], {
 *   out: { type: "string" },
 *   v: { type: "boolean", short: "v" },
 *   n: { type: "string" },
 * });
 * assert.deepEqual(r, { values: { out: "x.csv", v: true, n: "-2" }, positionals: ["a.pcap", "--b"] });
 * assert.throws(() => parseArgv(["--out"], { out: { type: "string" } }), /option --out expects a value/);
 * ```
 */
export function parseArgv(
  argv: readonly string[],
  options: Record<string, ArgvOption>,
): { values: Record<string, string | boolean | string[]>; positionals: string[] } {
  const values: Record<string, string | boolean | string[]> = {};
  const positionals: string[] = [];
  const byShort = new Map<string, string>();
  for (const [name, o] of Object.entries(options)) if (o.short) byShort.set(o.short, name);
  const set = (name: string, v: string | boolean) => {
    if (options[name].multiple) ((values[name] ??= []) as (string | boolean)[]).push(v);
    else values[name] = v;
  };
  const optionLike = (v: string) => v.length > 1 && v[0] === "-" && !Number.isFinite(Number(v));
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--") {
      for (let k = i + 1; k < argv.length; k++) positionals.push(argv[k]);
      break;
    }
    if (a.length < 2 || a[0] !== "-") {
      positionals.push(a);
      continue;
    }
    // `--name[=value]`, or `-x` / `-abc`: the names to set, and a value given with "=".
    let names: string[], inline: string | undefined;
    if (a.startsWith("--")) {
      const eq = a.indexOf("=");
      const name = eq < 0 ? a.slice(2) : a.slice(2, eq);
      if (eq >= 0) inline = a.slice(eq + 1);
      if (!Object.hasOwn(options, name)) throw new UsageError(`unknown option --${name}`);
      names = [name];
    } else {
      names = [...a.slice(1)].map((c) => {
        const name = byShort.get(c);
        if (name === undefined) throw new UsageError(`unknown option -${c}`);
        return name;
      });
      if (names.length > 1 && names.some((n) => options[n].type !== "boolean")) {
        throw new UsageError(`"${a}": only options without a value can be given together`);
      }
    }
    const name = names[0], flag = a.startsWith("--") ? `--${name}` : a;
    if (options[name].type === "boolean") {
      if (inline !== undefined) throw new UsageError(`option ${flag} takes no value, found "${inline}"`);
      for (const n of names) set(n, true);
      continue;
    }
    if (inline !== undefined) {
      set(name, inline);
      continue;
    }
    const v = argv[i + 1];
    if (v === undefined) throw new UsageError(`option ${flag} expects a value`);
    if (optionLike(v)) {
      throw new UsageError(
        `option ${flag} expects a value, found the option "${v}" (write ${flag}=${v} if it is one)`,
      );
    }
    set(name, v);
    i++;
  }
  return { values, positionals };
}

/** Validates argv against the command's spec. Throws {@link UsageError}. */
export function parseCommand(cmd: Command, argv: string[], path: string[]): ParsedArgs {
  const specs = cmd.options ?? {};
  const options: Record<string, ArgvOption> = {};
  for (const [name, o] of Object.entries(specs)) {
    options[name] = {
      type: o.type === "boolean" ? "boolean" : "string",
      short: o.short,
      multiple: o.multiple,
    };
  }
  options.help = { type: "boolean", short: "h" };
  const where = `nadir ${path.join(" ")}`;
  let parsed;
  try {
    parsed = parseArgv(argv, options);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    throw new UsageError(`${where}: ${e.message} (see --help)`);
  }
  const values: ParsedArgs["options"] = {};
  for (const [name, o] of Object.entries(specs)) {
    const raw = parsed.values[name];
    if (raw === undefined) {
      values[name] = o.default as ParsedArgs["options"][string];
      continue;
    }
    const check = (v: string): string | number => {
      if (o.type === "number") {
        // Decimal only: Number() also reads "0x10" (16), "0b1" and "" (0), which no one means here.
        const n = textNumber(v) ?? NaN;
        const what = o.integer ? "an integer" : "a number";
        const range = o.min !== undefined && o.max !== undefined
          ? ` ${o.min}–${o.max}`
          : o.min !== undefined
          ? ` ≥ ${o.min}`
          : o.max !== undefined
          ? ` ≤ ${o.max}`
          : "";
        if (
          !Number.isFinite(n) || (o.integer && !Number.isInteger(n)) || (o.min !== undefined && n < o.min) ||
          (o.max !== undefined && n > o.max)
        ) {
          throw new UsageError(`${where}: --${name} expects ${what}${range}, found "${v}"`);
        }
        return n;
      }
      if (o.choices && !o.choices.includes(v)) {
        throw new UsageError(`${where}: --${name} expects one of ${o.choices.join(", ")}, found "${v}"`);
      }
      return v;
    };
    if (o.type === "boolean") values[name] = raw as boolean;
    else if (o.multiple) values[name] = (raw as string[]).map((v) => String(check(v)));
    else values[name] = check(raw as string);
  }
  values.help = parsed.values.help as boolean | undefined;
  const pos = parsed.positionals;
  if (!values.help) {
    for (const [name, o] of Object.entries(specs)) {
      const v = values[name];
      if (o.writes && typeof v === "string") writablePath(where, `--${name}`, v, o.writes);
    }
    (cmd.positionals ?? []).forEach((p, i) => {
      if (p.writes && pos[i] !== undefined) writablePath(where, p.name, pos[i], p.writes);
    });
  }
  const specsPos = cmd.positionals ?? [];
  const required = specsPos.filter((p) => !p.optional).length;
  const variadic = specsPos.some((p) => p.variadic);
  if (!values.help) {
    if (pos.length < required) {
      const missing = specsPos.filter((p) => !p.optional)[pos.length];
      throw new UsageError(`${where}: missing argument ${missing.name} (see --help)`);
    }
    if (!variadic && pos.length > specsPos.length) {
      throw new UsageError(`${where}: unexpected argument "${pos[specsPos.length]}" (see --help)`);
    }
  }
  return { options: values, positionals: pos };
}

/**
 * Checks a path the command will write before it starts: a file must not be a directory and its directory
 * must exist; a directory must not be an existing file (its parents are made). Found only when the result
 * was written, these were uncaught NotFound / IsADirectory errors after all the work (or a panic inside
 * polars), with a stack trace instead of a message.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { writablePath } from "./command.ts";
 * writablePath("nadir flows", "--out", "/dev/null", "file");
 * assert.throws(() => writablePath("nadir flows", "--out", "/no/such/dir/x.csv", "file"), /directory \/no\/such\/dir does not exist/);
 * assert.throws(() => writablePath("nadir flows", "--out", "/tmp", "file"), /is a directory/);
 * ```
 */
export function writablePath(where: string, what: string, path: string, kind: "file" | "dir"): void {
  const st = statIfExists(path);
  if (kind === "dir") {
    if (st && !st.isDirectory) {
      throw new UsageError(`${where}: ${what} ${path} is a file; expected a directory (new or existing)`);
    }
    return;
  }
  if (st?.isDirectory) throw new UsageError(`${where}: ${what} ${path} is a directory; expected a file`);
  const dir = parentDir(path);
  const d = statIfExists(dir);
  if (!d) throw new UsageError(`${where}: ${what} ${path}: directory ${dir} does not exist`);
  if (!d.isDirectory) throw new UsageError(`${where}: ${what} ${path}: ${dir} is not a directory`);
}

/** Finds the command for argv (walking subcommands) and returns it with the rest. */
export function resolveCommand(
  root: Command,
  argv: string[],
): { cmd: Command; path: string[]; rest: string[] } {
  let cmd = root;
  const path: string[] = [];
  let i = 0;
  while (cmd.subcommands && i < argv.length && !argv[i].startsWith("-")) {
    const next = cmd.subcommands.find((c) => c.name === argv[i]);
    if (!next) {
      const names = cmd.subcommands.map((c) => c.name).join(", ");
      throw new UsageError(
        `nadir ${[...path, argv[i]].join(" ")}: unknown command; expected one of ${names}`,
      );
    }
    cmd = next;
    path.push(argv[i]);
    i++;
  }
  return { cmd, path, rest: argv.slice(i) };
}

/** Typed accessors so command bodies stay short. */
export function str(args: ParsedArgs, name: string): string | undefined {
  const v = args.options[name];
  return v === undefined ? undefined : String(v);
}
export function num(args: ParsedArgs, name: string): number | undefined {
  const v = args.options[name];
  return v === undefined ? undefined : Number(v);
}
/**
 * `--name N` as a count (an integer ≥ 0), `def` when absent; a usage error naming the command and the
 * value otherwise.
 */
export function count(args: ParsedArgs, name: string, command: string, def: number): number {
  const n = num(args, name) ?? def;
  if (!(Number.isInteger(n) && n >= 0)) {
    throw new UsageError(`nadir ${command}: --${name} expects an integer ≥ 0, found ${args.options[name]}`);
  }
  return n;
}

/** `--batch-rows N` of the commands that read a big CSV in chunks (src/data/stream.ts). */
export function batchRowsOption(
  what = "Read a CSV N rows at a time, memory bounded",
  parquet = false,
): OptionSpec {
  const big = parquet ? "CSVs over 64 MiB and Parquet files over 16 MiB" : "CSVs over 64 MiB";
  return { type: "number", arg: "N", description: `${what} (default: 100,000 for ${big}; 0 = whole file)` };
}

export function bool(args: ParsedArgs, name: string): boolean {
  return args.options[name] === true;
}
