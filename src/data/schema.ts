/**
 * Dataset schemas: which columns are model features and which are metadata. Every loader returns a
 * DataFrame whose columns are `schema.metadata` (ids, addresses, ports, timestamps, difficulty, raw
 * labels), `schema.features`, then the three target columns `label` (0 benign / 1 attack), `attack`
 * (raw attack name, "normal" for benign) and `category` (attack family, "normal" for benign).
 * Models only ever see {@link featureColumns}, so metadata cannot leak into them.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { featureColumns, NSL_KDD_SCHEMA } from "./schema.ts";
 * const cols = featureColumns(NSL_KDD_SCHEMA, "kdd-header");
 * assert.ok(cols.includes("src_bytes") && !cols.includes("hot") && !cols.includes("difficulty"));
 * ```
 * @module
 */
import type pl from "nodejs-polars";
import { InputError, UsageError } from "../util/errors.ts";
import { mostlyNumbers } from "./number_text.ts";

/** The three target columns every loader appends. Never features. */
export const TARGET_COLUMNS = ["label", "attack", "category"] as const;

/** A dataset's column roles. */
export interface DatasetSchema {
  /** Schema id ("nsl-kdd", "kdd99", "cic-ids2017", "unsw-nb15", "unsw-nb15-raw"). */
  readonly name: string;
  readonly description: string;
  /** Feature columns in canonical order. */
  readonly features: readonly string[];
  /** Features holding strings (one-hot encode them before a model sees them). */
  readonly categorical: readonly string[];
  /** Columns that are never features: ids, addresses, ports, timestamps, difficulty, raw labels. */
  readonly metadata: readonly string[];
  /** Named feature subsets; "all" is always present. */
  readonly featureSets: Readonly<Record<string, readonly string[]>>;
}

// The KDD Cup 99 task description groups the 41 features in three kinds, stored in this order.

/** Basic features of one connection, from its packet headers. */
const KDD_BASIC_FEATURES = [
  "duration",
  "protocol_type",
  "service",
  "flag",
  "src_bytes",
  "dst_bytes",
  "land",
  "wrong_fragment",
  "urgent",
] as const;

/** Content features, from the connection payload (need payload inspection). */
const KDD_CONTENT_FEATURES = [
  "hot",
  "num_failed_logins",
  "logged_in",
  "num_compromised",
  "root_shell",
  "su_attempted",
  "num_root",
  "num_file_creations",
  "num_shells",
  "num_access_files",
  "num_outbound_cmds",
  "is_host_login",
  "is_guest_login",
] as const;

/** Traffic features: time- and host-window counts over recent connections, from headers. */
const KDD_TRAFFIC_FEATURES = [
  "count",
  "srv_count",
  "serror_rate",
  "srv_serror_rate",
  "rerror_rate",
  "srv_rerror_rate",
  "same_srv_rate",
  "diff_srv_rate",
  "srv_diff_host_rate",
  "dst_host_count",
  "dst_host_srv_count",
  "dst_host_same_srv_rate",
  "dst_host_diff_srv_rate",
  "dst_host_same_src_port_rate",
  "dst_host_srv_diff_host_rate",
  "dst_host_serror_rate",
  "dst_host_srv_serror_rate",
  "dst_host_rerror_rate",
  "dst_host_srv_rerror_rate",
] as const;

/** The 41 KDD Cup 99 features, in file order (shared by NSL-KDD). */
export const KDD_FEATURES = [
  ...KDD_BASIC_FEATURES,
  ...KDD_CONTENT_FEATURES,
  ...KDD_TRAFFIC_FEATURES,
] as const;

/**
 * The KDD features computable from packet headers alone (basic + time/host window features); the
 * content features (hot, num_failed_logins, logged_in, ...) need payload inspection and are left out.
 * src/flows computes exactly these names from pcaps, so a model trained on this set runs on live flows.
 */
export const KDD_HEADER_FEATURES = [...KDD_BASIC_FEATURES, ...KDD_TRAFFIC_FEATURES] as const;

/** KDD features that hold strings. */
export const KDD_CATEGORICAL = ["protocol_type", "service", "flag"] as const;

/** NSL-KDD: 41 features, label, difficulty (metadata). */
export const NSL_KDD_SCHEMA: DatasetSchema = {
  name: "nsl-kdd",
  description: "NSL-KDD (Tavallaee et al. 2009): 41 KDD features, attack label, difficulty level",
  features: KDD_FEATURES,
  categorical: KDD_CATEGORICAL,
  metadata: ["difficulty"],
  featureSets: { all: KDD_FEATURES, "kdd-header": KDD_HEADER_FEATURES },
};

/** KDD Cup 1999: 41 features and a label ending in '.'. */
export const KDD99_SCHEMA: DatasetSchema = {
  name: "kdd99",
  description: "KDD Cup 1999: 41 features, attack label (ends with '.')",
  features: KDD_FEATURES,
  categorical: KDD_CATEGORICAL,
  metadata: [],
  featureSets: { all: KDD_FEATURES, "kdd-header": KDD_HEADER_FEATURES },
};

/** CIC-IDS2017 (improved, Engelen et al. 2021) column names; the canonical names for both layouts. */
export const CIC_COLUMNS = [
  "id",
  "Flow ID",
  "Src IP",
  "Src Port",
  "Dst IP",
  "Dst Port",
  "Protocol",
  "Timestamp",
  "Flow Duration",
  "Total Fwd Packet",
  "Total Bwd packets",
  "Total Length of Fwd Packet",
  "Total Length of Bwd Packet",
  "Fwd Packet Length Max",
  "Fwd Packet Length Min",
  "Fwd Packet Length Mean",
  "Fwd Packet Length Std",
  "Bwd Packet Length Max",
  "Bwd Packet Length Min",
  "Bwd Packet Length Mean",
  "Bwd Packet Length Std",
  "Flow Bytes/s",
  "Flow Packets/s",
  "Flow IAT Mean",
  "Flow IAT Std",
  "Flow IAT Max",
  "Flow IAT Min",
  "Fwd IAT Total",
  "Fwd IAT Mean",
  "Fwd IAT Std",
  "Fwd IAT Max",
  "Fwd IAT Min",
  "Bwd IAT Total",
  "Bwd IAT Mean",
  "Bwd IAT Std",
  "Bwd IAT Max",
  "Bwd IAT Min",
  "Fwd PSH Flags",
  "Bwd PSH Flags",
  "Fwd URG Flags",
  "Bwd URG Flags",
  "Fwd RST Flags",
  "Bwd RST Flags",
  "Fwd Header Length",
  "Bwd Header Length",
  "Fwd Packets/s",
  "Bwd Packets/s",
  "Packet Length Min",
  "Packet Length Max",
  "Packet Length Mean",
  "Packet Length Std",
  "Packet Length Variance",
  "FIN Flag Count",
  "SYN Flag Count",
  "RST Flag Count",
  "PSH Flag Count",
  "ACK Flag Count",
  "URG Flag Count",
  "CWR Flag Count",
  "ECE Flag Count",
  "Down/Up Ratio",
  "Average Packet Size",
  "Fwd Segment Size Avg",
  "Bwd Segment Size Avg",
  "Fwd Bytes/Bulk Avg",
  "Fwd Packet/Bulk Avg",
  "Fwd Bulk Rate Avg",
  "Bwd Bytes/Bulk Avg",
  "Bwd Packet/Bulk Avg",
  "Bwd Bulk Rate Avg",
  "Subflow Fwd Packets",
  "Subflow Fwd Bytes",
  "Subflow Bwd Packets",
  "Subflow Bwd Bytes",
  "FWD Init Win Bytes",
  "Bwd Init Win Bytes",
  "Fwd Act Data Pkts",
  "Fwd Seg Size Min",
  "Active Mean",
  "Active Std",
  "Active Max",
  "Active Min",
  "Idle Mean",
  "Idle Std",
  "Idle Max",
  "Idle Min",
  "ICMP Code",
  "ICMP Type",
  "Total TCP Flow Time",
  "Label",
  "Attempted Category",
] as const;

/** CIC-IDS2017 metadata (never features). The raw `Label` is replaced by `attack`. */
export const CIC_METADATA = [
  "id",
  "Flow ID",
  "Src IP",
  "Src Port",
  "Dst IP",
  "Dst Port",
  "Timestamp",
  "Attempted Category",
] as const;

const CIC_FEATURES = CIC_COLUMNS.filter((c) =>
  !(CIC_METADATA as readonly string[]).includes(c) && c !== "Label"
);

/** CIC-IDS2017, both layouts, canonical (improved) names. Protocol (6/17/1) is kept as a numeric feature. */
export const CIC_IDS2017_SCHEMA: DatasetSchema = {
  name: "cic-ids2017",
  description: "CIC-IDS2017 flows (CICFlowMeter features; improved-version names for both layouts)",
  features: CIC_FEATURES,
  categorical: [],
  metadata: CIC_METADATA,
  featureSets: { all: CIC_FEATURES },
};

/** UNSW-NB15 official training/testing CSV columns, file order. */
export const UNSW_COLUMNS = [
  "id",
  "dur",
  "proto",
  "service",
  "state",
  "spkts",
  "dpkts",
  "sbytes",
  "dbytes",
  "rate",
  "sttl",
  "dttl",
  "sload",
  "dload",
  "sloss",
  "dloss",
  "sinpkt",
  "dinpkt",
  "sjit",
  "djit",
  "swin",
  "stcpb",
  "dtcpb",
  "dwin",
  "tcprtt",
  "synack",
  "ackdat",
  "smean",
  "dmean",
  "trans_depth",
  "response_body_len",
  "ct_srv_src",
  "ct_state_ttl",
  "ct_dst_ltm",
  "ct_src_dport_ltm",
  "ct_dst_sport_ltm",
  "ct_dst_src_ltm",
  "is_ftp_login",
  "ct_ftp_cmd",
  "ct_flw_http_mthd",
  "ct_src_ltm",
  "ct_srv_dst",
  "is_sm_ips_ports",
  "attack_cat",
  "label",
] as const;

const UNSW_FEATURES = UNSW_COLUMNS.filter((c) => c !== "id" && c !== "attack_cat" && c !== "label");

/** UNSW-NB15 training/testing set. */
export const UNSW_NB15_SCHEMA: DatasetSchema = {
  name: "unsw-nb15",
  description: "UNSW-NB15 official training/testing set (Moustafa & Slay 2015)",
  features: UNSW_FEATURES,
  categorical: ["proto", "service", "state"],
  metadata: ["id", "attack_cat"],
  featureSets: { all: UNSW_FEATURES },
};

/** The 49 published columns of the raw UNSW-NB15_1..4.csv files (no header), in file order. */
export const UNSW_RAW_COLUMNS = [
  "srcip",
  "sport",
  "dstip",
  "dsport",
  "proto",
  "state",
  "dur",
  "sbytes",
  "dbytes",
  "sttl",
  "dttl",
  "sloss",
  "dloss",
  "service",
  "Sload",
  "Dload",
  "Spkts",
  "Dpkts",
  "swin",
  "dwin",
  "stcpb",
  "dtcpb",
  "smeansz",
  "dmeansz",
  "trans_depth",
  "res_bdy_len",
  "Sjit",
  "Djit",
  "Stime",
  "Ltime",
  "Sintpkt",
  "Dintpkt",
  "tcprtt",
  "synack",
  "ackdat",
  "is_sm_ips_ports",
  "ct_state_ttl",
  "ct_flw_http_mthd",
  "is_ftp_login",
  "ct_ftp_cmd",
  "ct_srv_src",
  "ct_srv_dst",
  "ct_dst_ltm",
  "ct_src_ltm",
  "ct_src_dport_ltm",
  "ct_dst_sport_ltm",
  "ct_dst_src_ltm",
  "attack_cat",
  "Label",
] as const;

/** Raw-file name → canonical (training/testing) name, where they differ beyond case. */
export const UNSW_RAW_RENAME: Readonly<Record<string, string>> = {
  Sload: "sload",
  Dload: "dload",
  Spkts: "spkts",
  Dpkts: "dpkts",
  smeansz: "smean",
  dmeansz: "dmean",
  res_bdy_len: "response_body_len",
  Sjit: "sjit",
  Djit: "djit",
  Stime: "stime",
  Ltime: "ltime",
  Sintpkt: "sinpkt",
  Dintpkt: "dinpkt",
  Label: "label",
};

const UNSW_RAW_METADATA = ["srcip", "sport", "dstip", "dsport", "stime", "ltime", "attack_cat"];
const UNSW_RAW_FEATURES = UNSW_RAW_COLUMNS.map((c) => UNSW_RAW_RENAME[c] ?? c)
  .filter((c) => !UNSW_RAW_METADATA.includes(c) && c !== "label");

/** UNSW-NB15 raw files: the training/testing features except `rate` (absent from the raw files). */
export const UNSW_NB15_RAW_SCHEMA: DatasetSchema = {
  name: "unsw-nb15-raw",
  description: "UNSW-NB15 raw UNSW-NB15_1..4.csv (49 published features, canonical lower-case names)",
  features: UNSW_RAW_FEATURES,
  categorical: ["proto", "state", "service"],
  metadata: UNSW_RAW_METADATA,
  featureSets: { all: UNSW_RAW_FEATURES },
};

/** Every schema the loaders produce. */
export const SCHEMAS: readonly DatasetSchema[] = [
  NSL_KDD_SCHEMA,
  KDD99_SCHEMA,
  CIC_IDS2017_SCHEMA,
  UNSW_NB15_SCHEMA,
  UNSW_NB15_RAW_SCHEMA,
];

/** Looks a schema up by id. */
export function getSchema(name: string): DatasetSchema {
  const s = SCHEMAS.find((x) => x.name === name);
  if (!s) {
    throw new UsageError(
      `unknown schema "${name}"; expected one of ${SCHEMAS.map((x) => x.name).join(", ")}`,
    );
  }
  return s;
}

/**
 * The schema whose columns a frame carries: the one that explains the most of the frame's
 * non-target columns (as features or metadata), provided it explains at least 90 % of them and
 * the frame has at least one of its features. Ties go to the schema with fewer missing metadata
 * columns. Undefined for frames that match none.
 */
export function schemaOf(columns: readonly string[] | pl.DataFrame): DatasetSchema | undefined {
  const cols = (Array.isArray(columns) ? columns : (columns as pl.DataFrame).columns)
    .filter((c) => !(TARGET_COLUMNS as readonly string[]).includes(c));
  let best: DatasetSchema | undefined;
  let bestScore = -Infinity;
  for (const s of SCHEMAS) {
    const known = new Set([...s.features, ...s.metadata]);
    const hits = cols.filter((c) => known.has(c)).length;
    const feats = cols.filter((c) => s.features.includes(c)).length;
    if (feats === 0 || hits < 0.9 * cols.length) continue;
    const missingMeta = s.metadata.filter((m) => !cols.includes(m)).length;
    const score = hits * 1000 - missingMeta;
    if (score > bestScore) {
      best = s;
      bestScore = score;
    }
  }
  return best;
}

/**
 * For frames of no known schema (e.g. a flow table from another tool): column names that are
 * treated as metadata, never features — ids, addresses, ports, MACs, timestamps, raw labels.
 */
export const GENERIC_METADATA_PATTERN: RegExp =
  /^(id|.*[_ ]id|flow[ _]?id|.*(^|[_ ])(ip|mac|addr|address|port|sport|dport)|src|dst|saddr|daddr|timestamp|.*_?time_?stamp|ts|.*first_seen.*|.*last_seen.*|(raw_)?label_?raw|attack_cat|difficulty)$/i;

/** True for a column name that {@link GENERIC_METADATA_PATTERN} marks as metadata. */
export function isGenericMetadata(name: string): boolean {
  return GENERIC_METADATA_PATTERN.test(name);
}

/** The names of a schema's feature set. */
export function featureSet(schema: DatasetSchema, set = "all"): readonly string[] {
  const f = schema.featureSets[set];
  if (!f) {
    throw new UsageError(
      `feature set "${set}" is not defined for ${schema.name}; expected one of ${
        Object.keys(schema.featureSets).join(", ")
      }`,
    );
  }
  return f;
}

/**
 * The feature columns of a schema, or of a frame (present columns only, in schema order). For a
 * frame that matches no known schema, every column except the targets and names matching
 * {@link GENERIC_METADATA_PATTERN} is a feature.
 * `set` picks a named feature set ("all", "kdd-header"), or pass an explicit list of names.
 */
export function featureColumns(
  of: DatasetSchema | pl.DataFrame,
  set: string | readonly string[] = "all",
): string[] {
  if (isSchema(of)) return [...(typeof set === "string" ? featureSet(of, set) : set)];
  const cols = of.columns;
  const present = new Set(cols);
  if (typeof set !== "string") {
    const missing = set.filter((c) => !present.has(c));
    if (missing.length) {
      throw new InputError(`frame lacks feature column(s) ${missing.map((m) => `"${m}"`).join(", ")}`);
    }
    return [...set];
  }
  const schema = schemaOf(cols);
  if (!schema) {
    if (set !== "all") {
      throw new UsageError(`feature set "${set}" needs a known dataset schema; this frame matches none`);
    }
    return cols.filter((c) => !(TARGET_COLUMNS as readonly string[]).includes(c) && !isGenericMetadata(c));
  }
  return featureSet(schema, set).filter((c) => present.has(c));
}

/** The categorical features among `columns` for a schema or frame (string dtype for unknown frames). */
export function categoricalColumns(of: DatasetSchema | pl.DataFrame, columns?: readonly string[]): string[] {
  const cols = columns ?? featureColumns(of);
  if (isSchema(of)) return cols.filter((c) => of.categorical.includes(c));
  const schema = schemaOf(of);
  if (schema) return cols.filter((c) => schema.categorical.includes(c));
  // A text column is categorical unless it is numbers read as text for a few bad cells, which
  // numericColumn (src/data/frame.ts) names with their rows. One "abc" in a byte count had turned the
  // column into a one-hot category per distinct number.
  return cols.filter((c) => {
    const s = of.getColumn(c);
    return isText(s) && !numbersAsText(s);
  });
}

function isText(s: pl.Series): boolean {
  const dt = String(s.dtype);
  return dt.includes("String") || dt.includes("Utf8");
}

/**
 * Whether CSV type inference read a numeric column as text for a few bad cells ("abc", "0x1F"): a text
 * column whose values are mostly numbers. Such a column is an error to name, not a category.
 */
export function numbersAsText(s: pl.Series): boolean {
  return isText(s) && mostlyNumbers(s.toArray() as (string | null)[]);
}

function isSchema(x: unknown): x is DatasetSchema {
  return typeof x === "object" && x !== null && "featureSets" in x && "features" in x;
}
