/**
 * Published results nadir's runs are shown beside (docs/baselines.md has the
 * full citations and what each number was checked against). Values are
 * fractions (0.9369, not 93.69 %).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { PUBLISHED } from "./published.ts";
 * assert.ok(PUBLISHED.some((p) => p.method === "DAGMM" && p.f1_oracle === 0.9369));
 * ```
 * @module
 */

/** One published row. */
export interface PublishedResult {
  protocol: string;
  /** Test set name as nadir names it (main set of the protocol unless stated). */
  test_set: string;
  method: string;
  citation: string;
  /** Where in the paper. */
  where: string;
  /** Threshold convention of the paper: "oracle" = set from the known test anomaly ratio. */
  threshold: "oracle" | "paper-specific";
  precision?: number;
  recall?: number;
  /** F1 at the paper's threshold; for "oracle" papers this is comparable with nadir's f1_oracle. */
  f1_oracle?: number;
  accuracy?: number;
  /** How the figure was checked (see docs/baselines.md). */
  verified: string;
}

export const PUBLISHED: readonly PublishedResult[] = [
  {
    protocol: "kddcup-dagmm",
    test_set: "test",
    method: "DAGMM",
    citation:
      "Zong et al., Deep Autoencoding Gaussian Mixture Model for Unsupervised Anomaly Detection, ICLR 2018",
    where: "Table 2 (KDDCUP row)",
    threshold: "oracle",
    precision: 0.9297,
    recall: 0.9442,
    f1_oracle: 0.9369,
    verified:
      "figures as given in the project brief; table not reachable through the search tool (abstract only)",
  },
  {
    protocol: "kddcup-dagmm",
    test_set: "test",
    method: "GOAD",
    citation: "Bergman & Hoshen, Classification-Based Anomaly Detection for General Data, ICLR 2020",
    where: "tabular-data results table (KDDCUP99 column)",
    threshold: "oracle",
    f1_oracle: 0.984,
    verified:
      "figure as given in the project brief; paper found (arXiv 2005.02359), table not reachable through the search tool",
  },
  {
    protocol: "kddcup-rev",
    test_set: "test",
    method: "GOAD",
    citation: "Bergman & Hoshen, Classification-Based Anomaly Detection for General Data, ICLR 2020",
    where: "tabular-data results table (KDD-Rev column)",
    threshold: "oracle",
    f1_oracle: 0.989,
    verified:
      "figure as given in the project brief; paper found (arXiv 2005.02359), table not reachable through the search tool",
  },
  {
    protocol: "nsl-kdd",
    test_set: "KDDTest+",
    method: "AE (Aygün & Yavuz)",
    citation:
      "Aygün & Yavuz, Network Anomaly Detection with Stochastically Improved Autoencoder Based Models, IEEE CSCloud 2017, doi:10.1109/CSCloud.2017.39",
    where: "abstract and results (KDDTest+)",
    threshold: "paper-specific",
    accuracy: 0.8828,
    verified:
      "checked against the paper's abstract (IEEE CSCloud 2017 record): 88.28 % AE, 88.65 % DAE on KDDTest+",
  },
  {
    protocol: "nsl-kdd",
    test_set: "KDDTest+",
    method: "DAE (Aygün & Yavuz)",
    citation:
      "Aygün & Yavuz, Network Anomaly Detection with Stochastically Improved Autoencoder Based Models, IEEE CSCloud 2017, doi:10.1109/CSCloud.2017.39",
    where: "abstract and results (KDDTest+)",
    threshold: "paper-specific",
    accuracy: 0.8865,
    verified: "checked against the paper's abstract (IEEE CSCloud 2017 record)",
  },
];
