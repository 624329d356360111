/**
 * `kdd`: the KDD Cup 99 features that can be computed from packet headers,
 * named as in NSL-KDD (the `kdd-header` feature set of src/data/schema.ts):
 * intrinsic features of the connection (duration, protocol_type, service,
 * flag, src_bytes, dst_bytes, land, wrong_fragment, urgent) and the traffic
 * features over the past 2 seconds and the past 100 connections. Content
 * features (hot, num_failed_logins, logged_in, ...) need payload inspection
 * and are not produced.
 *
 * The window features depend on the connections seen before, so a feature
 * set instance is stateful: make one per stream with {@link kddFeatures}.
 * Connections enter the windows in the order they end (when the meter
 * emits them); "past 2 seconds" is measured on their last-packet times.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { kddFlag, kddService } from "./kdd.ts";
 * assert.equal(kddService(6, 80, -1, -1), "http");
 * assert.equal(kddFlag({ origSyn: true, respSynAck: true, origFin: true, respFin: true, origRst: false, respRst: false, respPackets: 3 }), "SF");
 * ```
 * @module
 */
import type { Packet } from "../../capture/packet.ts";
import { KDD_HEADER_FEATURES } from "../../data/schema.ts";
import { type Flow, TCP } from "../meter.ts";
import type { Column, FeatureSet } from "./types.ts";

/** TCP port → KDD service name (KDD Cup 99 / NSL-KDD service vocabulary). */
const TCP_SERVICES: Record<number, string> = {
  5190: "aol",
  113: "auth",
  179: "bgp",
  530: "courier",
  105: "csnet_ns",
  84: "ctf",
  13: "daytime",
  9: "discard",
  53: "domain",
  7: "echo",
  520: "efs",
  512: "exec",
  79: "finger",
  21: "ftp",
  20: "ftp_data",
  70: "gopher",
  101: "hostnames",
  80: "http",
  2784: "http_2784",
  443: "http_443",
  8001: "http_8001",
  143: "imap4",
  194: "IRC",
  6667: "IRC",
  102: "iso_tsap",
  543: "klogin",
  544: "kshell",
  389: "ldap",
  87: "link",
  513: "login",
  57: "mtp",
  42: "name",
  138: "netbios_dgm",
  137: "netbios_ns",
  139: "netbios_ssn",
  15: "netstat",
  433: "nnsp",
  119: "nntp",
  109: "pop_2",
  110: "pop_3",
  515: "printer",
  71: "remote_job",
  77: "rje",
  514: "shell",
  25: "smtp",
  150: "sql_net",
  22: "ssh",
  111: "sunrpc",
  95: "supdup",
  11: "systat",
  23: "telnet",
  37: "time",
  540: "uucp",
  117: "uucp_path",
  175: "vmnet",
  43: "whois",
  210: "Z39_50",
};
/** UDP port → KDD service name. */
const UDP_SERVICES: Record<number, string> = { 53: "domain_u", 123: "ntp_u", 69: "tftp_u" };

/**
 * KDD service of a connection: by responder port for TCP/UDP (X11 for 6000–6063; `private` for other ports
 * below 1024, `other` above), by ICMP type/code for ICMP (eco_i, ecr_i, urp_i, urh_i, red_i, tim_i, oth_i).
 */
export function kddService(protocol: number, dstPort: number, icmpType: number, icmpCode: number): string {
  if (protocol === 6) {
    const s = TCP_SERVICES[dstPort];
    if (s) return s;
    if (dstPort >= 6000 && dstPort <= 6063) return "X11";
    return dstPort < 1024 ? "private" : "other";
  }
  if (protocol === 17) return UDP_SERVICES[dstPort] ?? (dstPort < 1024 ? "private" : "other");
  if (protocol === 1 || protocol === 58) {
    const v6 = protocol === 58;
    if (icmpType === (v6 ? 128 : 8)) return "eco_i";
    if (icmpType === (v6 ? 129 : 0)) return "ecr_i";
    if (icmpType === (v6 ? 1 : 3)) return icmpCode === (v6 ? 4 : 3) ? "urp_i" : "urh_i";
    if (!v6 && icmpType === 5) return "red_i";
    if (!v6 && (icmpType === 13 || icmpType === 14)) return "tim_i";
    return "oth_i";
  }
  return "other";
}

/** What the TCP state machine saw of a connection. */
export interface TcpSeen {
  origSyn: boolean;
  respSynAck: boolean;
  origFin: boolean;
  respFin: boolean;
  origRst: boolean;
  respRst: boolean;
  /** Packets from the responder. */
  respPackets: number;
}

/**
 * KDD/Bro connection state of a TCP connection: SF, S0, S1, S2, S3, REJ, RSTO, RSTR, RSTOS0, SH, OTH.
 * Non-TCP connections are SF in KDD.
 */
export function kddFlag(t: TcpSeen): string {
  if (!t.origSyn) return "OTH"; // midstream: the handshake was not seen
  if (!t.respSynAck) {
    if (t.origRst) return "RSTOS0";
    if (t.respRst) return "REJ";
    if (t.origFin) return "SH";
    return "S0";
  }
  if (t.origRst) return "RSTO";
  if (t.respRst) return "RSTR";
  if (t.origFin && t.respFin) return "SF";
  if (t.origFin) return "S2";
  if (t.respFin) return "S3";
  return "S1";
}

/** Per-connection state. */
export class KddState implements TcpSeen {
  origSyn = false;
  respSynAck = false;
  origFin = false;
  respFin = false;
  origRst = false;
  respRst = false;
  respPackets = 0;
  srcBytes = 0;
  dstBytes = 0;
  fragments = 0;
  urgent = 0;
  icmpType = -1;
  icmpCode = -1;
}

function onPacket(s: KddState, p: Packet, dir: 0 | 1): void {
  if (p.fragment) s.fragments++;
  if (dir === 0) s.srcBytes += p.payloadLen;
  else {
    s.dstBytes += p.payloadLen;
    s.respPackets++;
  }
  if (p.protocol !== 6) return;
  const f = p.tcpFlags;
  if (f & TCP.URG) s.urgent++;
  if (dir === 0) {
    if ((f & (TCP.SYN | TCP.ACK)) === TCP.SYN) s.origSyn = true;
    if (f & TCP.FIN) s.origFin = true;
    if (f & TCP.RST) s.origRst = true;
  } else {
    if ((f & (TCP.SYN | TCP.ACK)) === (TCP.SYN | TCP.ACK)) s.respSynAck = true;
    if (f & TCP.FIN) s.respFin = true;
    if (f & TCP.RST) s.respRst = true;
  }
}

const SERROR = new Set(["S0", "S1", "S2", "S3"]);
const RERROR = new Set(["REJ"]);

interface Conn {
  t: number;
  host: string;
  svc: string;
  hostSvc: string;
  hostPort: string;
  serr: number;
  rerr: number;
}

/** Counters keyed by string with add/remove. */
class Counts {
  readonly m = new Map<string, number>();
  add(k: string, d: number): void {
    const v = (this.m.get(k) ?? 0) + d;
    if (v === 0) this.m.delete(k);
    else this.m.set(k, v);
  }
  get(k: string): number {
    return this.m.get(k) ?? 0;
  }
}

/** Aggregates over a window of connections, O(1) per connection added or removed. */
class WindowCounts {
  host = new Counts();
  svc = new Counts();
  hostSvc = new Counts();
  hostPort = new Counts();
  hostSerr = new Counts();
  hostRerr = new Counts();
  svcSerr = new Counts();
  svcRerr = new Counts();
  change(c: Conn, d: number): void {
    this.host.add(c.host, d);
    this.svc.add(c.svc, d);
    this.hostSvc.add(c.hostSvc, d);
    this.hostPort.add(c.hostPort, d);
    if (c.serr) this.hostSerr.add(c.host, d), this.svcSerr.add(c.svc, d);
    if (c.rerr) this.hostRerr.add(c.host, d), this.svcRerr.add(c.svc, d);
  }
}

/** Window sizes (KDD: 2 seconds, 100 connections). */
export interface KddOptions {
  windowUs?: number;
  hostWindow?: number;
}

const rate = (a: number, b: number) => (b > 0 ? a / b : 0);

/** A fresh (stateful) kdd feature set. */
export function kddFeatures(opts: KddOptions = {}): FeatureSet<KddState> {
  const windowUs = opts.windowUs ?? 2_000_000;
  const hostWindow = opts.hostWindow ?? 100;
  const time = new WindowCounts();
  const timeQ: Conn[] = [];
  let timeHead = 0;
  const last = new WindowCounts();
  const ring: (Conn | undefined)[] = new Array(hostWindow);
  let ringPos = 0;

  const columns: Column[] = [
    { name: "id", type: "int", meta: true },
    { name: "src_ip", type: "str", meta: true },
    { name: "src_port", type: "int", meta: true },
    { name: "dst_ip", type: "str", meta: true },
    { name: "dst_port", type: "int", meta: true },
    { name: "first_seen_us", type: "int", meta: true },
    ...KDD_HEADER_FEATURES.map((n): Column => ({
      name: n,
      type: n === "protocol_type" || n === "service" || n === "flag"
        ? "str"
        : n.endsWith("_rate")
        ? "float"
        : "int",
    })),
  ];

  return {
    name: "kdd",
    columns,
    // KDD connections are TCP sessions: end them at teardown.
    meterDefaults: { tcpTermination: true },
    crossFlow: true,
    init(_flow: Flow, p: Packet): KddState {
      const s = new KddState();
      s.icmpType = p.icmpType;
      s.icmpCode = p.icmpCode;
      onPacket(s, p, 0);
      return s;
    },
    update(s: KddState, _flow: Flow, p: Packet, dir: 0 | 1): void {
      onPacket(s, p, dir);
    },
    row(f: Flow, s: KddState, out: (number | string)[]): void {
      const svc = kddService(f.protocol, f.dstPort, s.icmpType, s.icmpCode);
      const flag = f.protocol === 6 ? kddFlag(s) : "SF";
      const c: Conn = {
        t: f.lastUs,
        host: f.dstIp,
        svc,
        hostSvc: f.dstIp + "|" + svc,
        hostPort: f.dstIp + "|" + f.srcPort,
        serr: SERROR.has(flag) ? 1 : 0,
        rerr: RERROR.has(flag) ? 1 : 0,
      };
      // 2-second window (includes the current connection).
      while (timeHead < timeQ.length && timeQ[timeHead].t < c.t - windowUs) {
        time.change(timeQ[timeHead++], -1);
      }
      if (timeHead > 4096 && timeHead * 2 > timeQ.length) timeQ.splice(0, timeHead), timeHead = 0;
      timeQ.push(c);
      time.change(c, 1);
      // last-100-connections window (includes the current connection).
      const old = ring[ringPos];
      if (old) last.change(old, -1);
      ring[ringPos] = c;
      ringPos = (ringPos + 1) % hostWindow;
      last.change(c, 1);

      const count = time.host.get(c.host), srvCount = time.svc.get(svc);
      const sameSrvHost = time.hostSvc.get(c.hostSvc);
      const dh = last.host.get(c.host), dhs = last.svc.get(svc);
      const dhSame = last.hostSvc.get(c.hostSvc);
      const proto = f.protocol === 6
        ? "tcp"
        : f.protocol === 17
        ? "udp"
        : f.protocol === 1 || f.protocol === 58
        ? "icmp"
        : "other";
      let i = 0;
      out[i++] = f.id;
      out[i++] = f.srcIp;
      out[i++] = f.srcPort;
      out[i++] = f.dstIp;
      out[i++] = f.dstPort;
      out[i++] = f.firstUs;
      out[i++] = Math.floor((f.lastUs - f.firstUs) / 1e6); // duration (s)
      out[i++] = proto;
      out[i++] = svc;
      out[i++] = flag;
      out[i++] = s.srcBytes;
      out[i++] = s.dstBytes;
      out[i++] = f.srcIp === f.dstIp && f.srcPort === f.dstPort ? 1 : 0; // land
      out[i++] = s.fragments; // wrong_fragment (approximation: fragments in the connection)
      out[i++] = s.urgent;
      out[i++] = count;
      out[i++] = srvCount;
      out[i++] = rate(time.hostSerr.get(c.host), count);
      out[i++] = rate(time.svcSerr.get(svc), srvCount);
      out[i++] = rate(time.hostRerr.get(c.host), count);
      out[i++] = rate(time.svcRerr.get(svc), srvCount);
      out[i++] = rate(sameSrvHost, count);
      out[i++] = rate(count - sameSrvHost, count);
      out[i++] = rate(srvCount - sameSrvHost, srvCount);
      out[i++] = dh;
      out[i++] = dhs;
      out[i++] = rate(dhSame, dh);
      out[i++] = rate(dh - dhSame, dh);
      out[i++] = rate(last.hostPort.get(c.hostPort), dh);
      out[i++] = rate(dhs - dhSame, dhs);
      out[i++] = rate(last.hostSerr.get(c.host), dh);
      out[i++] = rate(last.svcSerr.get(svc), dhs);
      out[i++] = rate(last.hostRerr.get(c.host), dh);
      out[i++] = rate(last.svcRerr.get(svc), dhs);
    },
  };
}
