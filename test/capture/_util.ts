/**
 * Helpers for the capture tests: run Wireshark's command-line tools, list the
 * vendored captures, make temp dirs.
 *
 * @module
 */
import { join } from "node:path";
import { dataPath, needPrograms, type Unmet } from "../_shared.ts";

/** Vendored real captures (data/pcaps) — always present in a clone. */
export function vendoredPcaps(): string[] {
  const dir = dataPath("pcaps");
  return [...Deno.readDirSync(dir)].filter((e) => /\.pcap(ng)?$/.test(e.name)).map((e) => join(dir, e.name))
    .sort();
}

/** A capture from the vendored NFStream subset (data/nfstream/pcaps); it is in every clone, so absence throws. */
export function nfstreamPcap(name: string): string {
  const p = dataPath("nfstream", "pcaps", name);
  try {
    Deno.statSync(p);
  } catch {
    throw new Error(`data/nfstream/pcaps/${name} is not vendored (see data/SOURCES.md)`);
  }
  return p;
}

/** Runs a command; throws with its stderr when it fails. */
export function run(cmd: string, args: string[]): string {
  const r = new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped" }).outputSync();
  if (!r.success) {
    throw new Error(`${cmd} ${args.join(" ")} failed (${r.code}): ${new TextDecoder().decode(r.stderr)}`);
  }
  return new TextDecoder().decode(r.stdout);
}

/** tshark, editcap and mergecap (Debian tshark + wireshark-common), the reference the capture tests compare to. */
export function needWireshark(): Unmet | undefined {
  return needPrograms("tshark", "editcap", "mergecap", "capinfos");
}

/** tshark -T fields rows (one array of raw field strings per frame). */
export function tsharkFields(file: string, fields: string[], extra: string[] = []): string[][] {
  const args = ["-r", file, "-T", "fields", "-E", "separator=\t", ...extra];
  for (const f of fields) args.push("-e", f);
  const out = run("tshark", args);
  return out.split("\n").filter((l) => l.length > 0).map((l) => l.split("\t"));
}

/** µs since the epoch from tshark's frame.time_epoch ("sec.nnnnnnnnn"), truncated like libpcap. */
export function epochToUs(s: string): number {
  const [sec, frac = ""] = s.split(".");
  return Number(sec) * 1e6 + Math.floor(Number((frac + "000000000").slice(0, 9)) / 1000);
}

/** A temp dir removed by the returned cleanup. */
export function tempDir(): { dir: string; cleanup: () => void } {
  const dir = Deno.makeTempDirSync({ prefix: "nadir-capture-test-" });
  return { dir, cleanup: () => Deno.removeSync(dir, { recursive: true }) };
}

/** What tshark makes of a frame's innermost IP packet (the last value of each multi-valued field). */
export interface TsharkInner {
  /** 4 or 6 from the last "ip"/"ipv6" in frame.protocols, 0 without IP. */
  ipVersion: 0 | 4 | 6;
  src: string;
  dst: string;
  srcPort: number;
  dstPort: number;
  /** Last vlan.id (0 when none). */
  vlanId: number;
  /** Last eth.src ("" when the frame has no Ethernet header). */
  srcMac: string;
  protocols: string;
}

/**
 * tshark's innermost IP packet per frame. TCP/UDP payloads are not dissected (`-d ...,data`), so only the
 * encapsulation under test can add inner headers; `udpTunnelPorts` are left to tshark's own dissectors (a UDP
 * tunnel under test, e.g. VXLAN-GPE on 4790).
 */
export function tsharkInnermost(file: string, udpTunnelPorts: number[] = []): TsharkInner[] {
  const fields = [
    "frame.protocols",
    "ip.src",
    "ip.dst",
    "ipv6.src",
    "ipv6.dst",
    "tcp.srcport",
    "tcp.dstport",
    "udp.srcport",
    "udp.dstport",
    "vlan.id",
    "eth.src",
  ];
  const last = (v: string | undefined) => (v ?? "").split(",").pop() ?? "";
  const udpData: string[] = [];
  let from = 1;
  for (const port of [...udpTunnelPorts].sort((a, b) => a - b)) {
    if (port > from) udpData.push("-d", `udp.port==${from}-${port - 1},data`);
    from = port + 1;
  }
  if (from <= 65535) udpData.push("-d", `udp.port==${from}-65535,data`);
  return tsharkFields(file, fields, [...udpData, "-d", "tcp.port==1-65535,data"]).map(
    (r) => {
      const protos = r[0].split(":");
      const v = protos.findLastIndex((x) => x === "ip"), v6 = protos.findLastIndex((x) => x === "ipv6");
      const ipVersion = v < 0 && v6 < 0 ? 0 : v > v6 ? 4 : 6;
      const port = (t: string, u: string) => Number(last(t) || last(u) || 0);
      return {
        ipVersion,
        src: last(ipVersion === 4 ? r[1] : r[3]),
        dst: last(ipVersion === 4 ? r[2] : r[4]),
        srcPort: port(r[5], r[7]),
        dstPort: port(r[6], r[8]),
        vlanId: Number(last(r[9]) || 0),
        srcMac: last(r[10]),
        protocols: r[0],
      };
    },
  );
}

/** Differences between decoded packets and tshark's innermost packets ({@link tsharkInnermost}) of the same frames. */
export function innermostMismatches(
  name: string,
  rows: TsharkInner[],
  pkts: {
    ipVersion: number;
    srcIp: string;
    dstIp: string;
    srcPort: number;
    dstPort: number;
    vlanId: number;
    srcMac?: string;
  }[],
): string[] {
  if (rows.length !== pkts.length) {
    return [`${name}: tshark reads ${rows.length} frames, nadir ${pkts.length}`];
  }
  const out: string[] = [];
  for (let i = 0; i < rows.length; i++) {
    const t = rows[i], p = pkts[i];
    const bad = (what: string, want: unknown, got: unknown) =>
      out.push(`${name} #${i + 1} ${what}: tshark ${want}, nadir ${got} (${t.protocols})`);
    if (t.ipVersion !== p.ipVersion) bad("ip version", t.ipVersion, p.ipVersion);
    else if (t.ipVersion) {
      if (t.src !== p.srcIp || t.dst !== p.dstIp) {
        bad("addresses", `${t.src}>${t.dst}`, `${p.srcIp}>${p.dstIp}`);
      }
      if (t.srcPort !== p.srcPort || t.dstPort !== p.dstPort) {
        bad("ports", `${t.srcPort}>${t.dstPort}`, `${p.srcPort}>${p.dstPort}`);
      }
      if (t.vlanId !== p.vlanId) bad("vlan", t.vlanId, p.vlanId);
      if (t.srcMac && t.srcMac !== p.srcMac) bad("source MAC", t.srcMac, p.srcMac);
    }
  }
  return out;
}
