/**
 * Attack name → family mappings and the helper that appends the `label`, `attack` and `category`
 * columns. Mapping is done once per distinct name (a handful), then broadcast in polars.
 *
 * @module
 */
import pl from "nodejs-polars";

/**
 * KDD Cup 99 / NSL-KDD attack → category, including the 17 types that only occur in the test files.
 * The grouping is the one the KDD Cup 99 scoring used; it reproduces the published per-category
 * counts of the `corrected` test set (Elkan 2000: normal 60,593, probe 4,166, DoS 229,853,
 * U2R 228, R2L 16,189), which places httptunnel in U2R and worm in R2L.
 */
export const KDD_CATEGORIES: Readonly<Record<string, "DoS" | "Probe" | "R2L" | "U2R">> = {
  // DoS
  back: "DoS",
  land: "DoS",
  neptune: "DoS",
  pod: "DoS",
  smurf: "DoS",
  teardrop: "DoS",
  apache2: "DoS",
  mailbomb: "DoS",
  processtable: "DoS",
  udpstorm: "DoS",
  // Probe
  ipsweep: "Probe",
  nmap: "Probe",
  portsweep: "Probe",
  satan: "Probe",
  mscan: "Probe",
  saint: "Probe",
  // R2L
  ftp_write: "R2L",
  guess_passwd: "R2L",
  imap: "R2L",
  multihop: "R2L",
  phf: "R2L",
  spy: "R2L",
  warezclient: "R2L",
  warezmaster: "R2L",
  named: "R2L",
  sendmail: "R2L",
  snmpgetattack: "R2L",
  snmpguess: "R2L",
  xlock: "R2L",
  xsnoop: "R2L",
  worm: "R2L",
  // U2R
  buffer_overflow: "U2R",
  loadmodule: "U2R",
  perl: "U2R",
  rootkit: "U2R",
  ps: "U2R",
  sqlattack: "U2R",
  xterm: "U2R",
  httptunnel: "U2R",
};

/** Category for a KDD attack name ("normal" for normal, "unknown" for a name outside the mapping). */
export function kddCategory(attack: string): string {
  if (attack === "normal") return "normal";
  return KDD_CATEGORIES[attack] ?? "unknown";
}

/**
 * CIC-IDS2017 family for a label of either layout ("BENIGN" → "normal"). Matching ignores case and
 * the en-dash that the original CSVs carry as a broken byte ("Web Attack � Brute Force").
 * "Infiltration - Portscan" (the scan run from the infiltrated host) is Infiltration.
 */
export function cicCategory(attack: string): string {
  const a = attack.toLowerCase().replace(/ - attempted$/, "");
  if (a === "benign" || a === "normal") return "normal";
  if (a.startsWith("ddos")) return "DDoS";
  if (a.startsWith("dos")) return "DoS";
  if (a.startsWith("infiltration")) return "Infiltration";
  if (a === "portscan") return "PortScan";
  if (a.includes("patator") || a === "brute force") return "Brute Force";
  if (a.startsWith("web attack")) return "Web Attack";
  if (a === "bot" || a === "botnet" || a.startsWith("botnet")) return "Botnet";
  if (a === "heartbleed") return "Heartbleed";
  return "unknown";
}

/** Normalises a CIC-IDS2017 label: trims, fixes the broken en-dash, "BENIGN" → "normal". */
export function cicAttackName(raw: string): string {
  const s = raw.trim().replace(/\s*(\uFFFD|\u2013|\u0096)\s*/g, " - ").replace(/\s+/g, " ");
  return s.toUpperCase() === "BENIGN" ? "normal" : s;
}

/** UNSW-NB15 attack_cat → family ("Backdoors" → "Backdoor"; blank/Normal → "normal"). */
export function unswCategory(raw: string | null): string {
  const s = (raw ?? "").trim();
  if (s === "" || s.toLowerCase() === "normal") return "normal";
  const known = [
    "Fuzzers",
    "Analysis",
    "Backdoor",
    "DoS",
    "Exploits",
    "Generic",
    "Reconnaissance",
    "Shellcode",
    "Worms",
  ];
  const canon = s === "Backdoors" ? "Backdoor" : s;
  return known.find((k) => k.toLowerCase() === canon.toLowerCase()) ?? "unknown";
}

/**
 * Maps a string column through `fn`, evaluated once per distinct value (a handful for label
 * columns); the per-row work is a polars `when/isIn` chain, not a JavaScript loop.
 */
export function mapDistinct(s: pl.Series, name: string, fn: (v: string | null) => string): pl.Series {
  const distinct = s.unique().toArray() as (string | null)[];
  const groups = new Map<string, string[]>();
  let nullOut: string | undefined;
  for (const v of distinct) {
    const out = fn(v);
    if (v === null) {
      nullOut = out;
      continue;
    }
    const g = groups.get(out);
    if (g) g.push(v);
    else groups.set(out, [v]);
  }
  const col = pl.col("v");
  let expr: any = null;
  const add = (cond: pl.Expr, out: string) => {
    expr = expr === null ? pl.when(cond).then(pl.lit(out)) : expr.when(cond).then(pl.lit(out));
  };
  if (nullOut !== undefined) add(col.isNull(), nullOut);
  for (const [out, values] of groups) add(col.isIn(values), out);
  if (expr === null) return pl.Series(name, [], pl.Utf8);
  const df = pl.DataFrame([s.cast(pl.Utf8).rename("v")]);
  return df.select(expr.otherwise(pl.lit(null)).cast(pl.Utf8).alias(name)).getColumn(name);
}

/** 1 where `category` is not "normal", else 0, as an Int32 series named `label`. */
export function labelFromCategory(category: pl.Series): pl.Series {
  return pl.DataFrame([category.rename("c")]).select(
    pl.col("c").neq(pl.lit("normal")).cast(pl.Int32).alias("label"),
  ).getColumn("label");
}

/** Appends `label` (from attack != "normal" unless given), `attack` and `category`. */
export function withTargets(
  df: pl.DataFrame,
  attack: pl.Series,
  category: pl.Series,
  label?: pl.Series,
): pl.DataFrame {
  const lab = label ?? labelFromCategory(attack);
  return df.withColumns(
    lab.cast(pl.Int32).rename("label"),
    attack.rename("attack"),
    category.rename("category"),
  );
}
