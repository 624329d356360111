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
  /** Outer-most 802.1Q VLAN id, 0 when none. */
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
  /** Length of the IP packet (header + payload) as NFStream counts bytes: from the IP header. */
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
  /** Tunnel id (e.g. GTP TEID) or 0; part of the flow key as in NFStream. */
  tunnelId: number;
  /** Raw frame bytes as captured (may be a view into a reused buffer: copy to keep). */
  raw?: Uint8Array;
}
