/**
 * The one packet type every source yields (pcap file, pcapng file, live
 * libpcap). Decoding fills in the network/transport fields; a packet that is
 * not IP keeps `ipVersion = 0` and is still counted by the flow meter's stats.
 *
 * @module
 */

/** A decoded packet. Addresses are strings so IPv4 and IPv6 share one key type. */
export interface Packet {
  /** Capture time in microseconds since the Unix epoch (float64 keeps µs exact until year 2255). */
  tsUs: number;
  /** Original length on the wire (bytes). */
  wireLen: number;
  /** Bytes captured (≤ wireLen). */
  capLen: number;
  /** Interface index (pcapng) or 0. */
  ifIndex: number;
  /** Link-layer type (DLT/LINKTYPE number) of the frame. */
  linkType: number;
  /** Source / destination MAC (lower-case colon hex) when the link has them. */
  srcMac?: string;
  dstMac?: string;
  /**
   * 802.1Q VLAN id, 0 when none. With stacked tags (QinQ) this is the id of the innermost tag, as NFStream
   * keys flows (its parser overwrites vlan_id per tag).
   */
  vlanId: number;
  /** 4, 6, or 0 when not IP. */
  ipVersion: 0 | 4 | 6;
  srcIp: string;
  dstIp: string;
  /** IP protocol number of the transport (after IPv6 extension headers), 0 when not IP. */
  protocol: number;
  /** Transport ports (0 when absent, e.g. ICMP or non-first fragments). */
  srcPort: number;
  dstPort: number;
  /**
   * Length of the IP packet (header + payload) from the IP header (IPv4 total length; IPv6 40 + payload
   * length). NOTE for flow byte counts: NFStream's default bidirectional_bytes (accounting_mode 0) sums
   * the frame length on the wire, i.e. `wireLen` (checked: capwap.pcap flow 0 = 1 packet of 107 bytes
   * = frame.len, IP length 93). NFStream stores it as uint16 (`wireLen & 0xffff`).
   */
  ipLen: number;
  /** IP header TTL / hop limit. */
  ttl: number;
  /** Transport header length in bytes (TCP data offset * 4, 8 for UDP, 0 otherwise). */
  transportHeaderLen: number;
  /** Transport payload length in bytes. */
  payloadLen: number;
  /** TCP flags byte (CWR ECE URG ACK PSH RST SYN FIN) incl. NS in bit 8, 0 for non-TCP. */
  tcpFlags: number;
  /** TCP window, 0 for non-TCP. */
  tcpWindow: number;
  /** ICMP type/code (v4 or v6), -1 when not ICMP. */
  icmpType: number;
  icmpCode: number;
  /** True for an IP fragment (any but a complete datagram). */
  fragment: boolean;
  /** True when this is a non-first fragment (no transport header). */
  laterFragment: boolean;
  /** Tunnel the packet was decoded from, NFStream's numbering (1 GTP-U, 2 CAPWAP, 3 TZSP; 0 none, IP-in-IP or VXLAN-GPE); part of the flow key as in NFStream. */
  tunnelId: number;
  /** Raw frame bytes as captured (may be a view into a reused buffer: copy to keep). */
  raw?: Uint8Array;
  /**
   * False where NFStream's packet_process drops the frame without metering it (frame shorter than link
   * header + 28 bytes, a later IPv4 fragment behind an IPv4 ethertype, IPv4 total length < header length,
   * IPv6 payload length beyond the captured bytes, broken IPv6 extension headers). Absent = true.
   * Set by src/capture/decode.ts; a flow meter that matches NFStream skips packets with `meterable === false`.
   */
  meterable?: boolean;
  /** IPv4 source/destination as unsigned 32-bit numbers (0 for IPv6/non-IP): cheap flow-key hashing. */
  srcIp4?: number;
  dstIp4?: number;
  /** Offset of the (innermost) IP header inside `raw`, -1 when not IP. */
  ipOffset?: number;
}
