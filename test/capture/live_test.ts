/**
 * Live capture through libpcap, in two network namespaces the test creates
 * and joins with a veth pair. `nadir capture record` runs inside namespace A
 * (via `ip netns exec`) while namespace B pings A and sends UDP datagrams;
 * tcpdump records the same traffic on `any` as Linux SLL2 for a cross-check
 * of the SLL2 decoder. Everything is bounded in time and the namespaces are
 * deleted in `finally`. Skips with a message without root or `ip netns`.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { type DecodedPacket, newStats, readAllPackets } from "../../src/capture/reader.ts";
import { InputError } from "../../src/util/errors.ts";
import { needNetns, needRoot, ROOT, testWhen } from "../_shared.ts";
import { tempDir } from "./_util.ts";

const TAG = `${Deno.pid % 100000}`;
const NS_A = `nadir-cap-${TAG}-a`, NS_B = `nadir-cap-${TAG}-b`;
const IF_A = `ncapa${TAG}`, IF_B = `ncapb${TAG}`;
const ADDR_A = "10.213.77.1", ADDR_B = "10.213.77.2";

function sh(args: string[], allowFail = false): { ok: boolean; out: string; err: string } {
  const r = new Deno.Command(args[0], { args: args.slice(1), stdout: "piped", stderr: "piped" }).outputSync();
  const res = {
    ok: r.success,
    out: new TextDecoder().decode(r.stdout),
    err: new TextDecoder().decode(r.stderr),
  };
  if (!r.success && !allowFail) throw new Error(`${args.join(" ")}: ${res.err}`);
  return res;
}

function setupNamespaces(): void {
  sh(["ip", "netns", "add", NS_A]);
  sh(["ip", "netns", "add", NS_B]);
  sh(["ip", "link", "add", IF_A, "netns", NS_A, "type", "veth", "peer", "name", IF_B, "netns", NS_B]);
  sh(["ip", "-n", NS_A, "addr", "add", `${ADDR_A}/24`, "dev", IF_A]);
  sh(["ip", "-n", NS_B, "addr", "add", `${ADDR_B}/24`, "dev", IF_B]);
  for (const [ns, dev] of [[NS_A, IF_A], [NS_B, IF_B], [NS_A, "lo"], [NS_B, "lo"]]) {
    sh(["ip", "-n", ns, "link", "set", dev, "up"]);
  }
}

function teardownNamespaces(): void {
  sh(["ip", "netns", "del", NS_A], true);
  sh(["ip", "netns", "del", NS_B], true);
}

/** A child process whose stderr is collected line by line so we can wait for a ready line. */
class Child {
  readonly proc: Deno.ChildProcess;
  stderr = "";
  stdout = "";
  private readonly done: Promise<void>;
  constructor(args: string[], env: Record<string, string> = {}) {
    this.proc = new Deno.Command(args[0], {
      args: args.slice(1),
      stdout: "piped",
      stderr: "piped",
      env: { NADIR_PROGRESS: "0", NO_COLOR: "1", ...env },
      cwd: ROOT,
    }).spawn();
    const dec = new TextDecoder();
    const pump = async (s: ReadableStream<Uint8Array>, into: "stderr" | "stdout") => {
      for await (const chunk of s) this[into] += dec.decode(chunk, { stream: true });
    };
    this.done = Promise.all([pump(this.proc.stderr, "stderr"), pump(this.proc.stdout, "stdout")]).then(
      () => {},
    );
  }
  async waitFor(re: RegExp, timeoutMs: number): Promise<void> {
    const t0 = Date.now();
    while (!re.test(this.stderr)) {
      if (Date.now() - t0 > timeoutMs) throw new Error(`timed out waiting for ${re} in: ${this.stderr}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  async finish(timeoutMs: number): Promise<Deno.CommandStatus> {
    const timer = setTimeout(() => {
      try {
        this.proc.kill("SIGKILL");
      } catch { /* gone */ }
    }, timeoutMs);
    const st = await this.proc.status;
    clearTimeout(timer);
    await this.done;
    return st;
  }
  kill(sig: Deno.Signal): void {
    try {
      this.proc.kill(sig);
    } catch { /* already exited */ }
  }
}

const NADIR = [Deno.execPath(), "run", "-A", "--unstable-ffi", join(ROOT, "src/cli.ts")];

/** `nadir capture record` on A's veth into `out` (30 s at most, JSON summary), with extra options. */
function recordInA(out: string, ...options: string[]): Child {
  return new Child([
    "ip",
    "netns",
    "exec",
    NS_A,
    ...NADIR,
    "capture",
    "record",
    "-i",
    IF_A,
    "-o",
    out,
    ...options,
    "--duration",
    "30",
    "--json",
  ]);
}

testWhen([needNetns("ping", "tcpdump")], {
  name:
    "live: nadir capture record in a namespace captures the peer's ping and UDP; SIGINT and --count stop it; SLL2",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const { dir, cleanup } = tempDir();
    const children: Child[] = [];
    try {
      setupNamespaces();
      const vethOut = join(dir, "veth.pcapng"),
        countOut = join(dir, "count.pcapng"),
        sll2Out = join(dir, "sll2.pcap");
      const filter = `icmp or udp port 9999`;
      const a = recordInA(vethOut, "--filter", filter);
      const c = recordInA(countOut, "--count", "4", "--filter", "udp port 9999");
      children.push(a, c);
      let tcpdump: Child | undefined;
      {
        tcpdump = new Child([
          "ip",
          "netns",
          "exec",
          NS_A,
          "tcpdump",
          "-i",
          "any",
          "-y",
          "LINUX_SLL2",
          "--immediate-mode",
          "-U",
          "-w",
          sll2Out,
          filter,
        ]);
        children.push(tcpdump);
      }
      await a.waitFor(/capturing on/, 30000);
      await c.waitFor(/capturing on/, 30000);
      if (tcpdump) await tcpdump.waitFor(/listening on/, 15000);
      // Traffic from B: 6 pings and 6 UDP datagrams of 7 bytes ("nadir-N").
      const ping = sh(["ip", "netns", "exec", NS_B, "ping", "-c", "6", "-i", "0.2", "-W", "2", ADDR_A], true);
      assert.ok(ping.ok, `ping failed: ${ping.err}`);
      sh([
        "ip",
        "netns",
        "exec",
        NS_B,
        "bash",
        "-c",
        `for i in 1 2 3 4 5 6; do printf nadir-$i > /dev/udp/${ADDR_A}/9999; sleep 0.1; done`,
      ]);
      await new Promise((r) => setTimeout(r, 500));
      a.kill("SIGINT");
      tcpdump?.kill("SIGINT");
      const stA = await a.finish(15000);
      const stC = await c.finish(15000);
      if (tcpdump) await tcpdump.finish(10000);
      assert.equal(stA.code, 0, `record (SIGINT) exited ${stA.code}: ${a.stderr}`);
      assert.equal(stC.code, 0, `record (--count) exited ${stC.code}: ${c.stderr}`);

      // SIGINT-stopped recording: summary and file agree, traffic is there, no kernel drops.
      const sum = JSON.parse(a.stdout.trim().split("\n").pop()!);
      const stats = newStats();
      const pkts = await readAllPackets(vethOut, { stats });
      assert.equal(stats.damaged + stats.truncated, 0);
      assert.equal(sum.packets, pkts.length);
      assert.equal(sum.linkType, 1);
      assert.ok(sum.seconds < 25, `stopped by SIGINT, not --duration (${sum.seconds} s)`);
      assert.equal(sum.kernelDropped, 0);
      assert.ok(sum.kernelReceived >= sum.packets);
      const echo = (p: DecodedPacket, type: number) => p.protocol === 1 && p.icmpType === type;
      const req = pkts.filter((p) => echo(p, 8) && p.srcIp === ADDR_B && p.dstIp === ADDR_A);
      const rep = pkts.filter((p) => echo(p, 0) && p.srcIp === ADDR_A && p.dstIp === ADDR_B);
      const udp = pkts.filter((p) => p.protocol === 17 && p.dstPort === 9999 && p.srcIp === ADDR_B);
      assert.equal(req.length, 6, `echo requests captured: ${req.length}`);
      assert.equal(rep.length, 6, `echo replies captured: ${rep.length}`);
      assert.equal(udp.length, 6);
      assert.ok(udp.every((p) => p.payloadLen === 7 && p.meterable && p.srcMac && p.ipLen === 35));
      assert.ok(
        pkts.every((p) =>
          p.protocol === 1 || (p.protocol === 17 && (p.dstPort === 9999 || p.srcPort === 9999))
        ),
      );
      const t = pkts.map((p) => p.tsUs);
      assert.ok(t.every((x, i) => i === 0 || x >= t[i - 1]) && Math.abs(t[0] / 1000 - Date.now()) < 120000);

      // --count 4 ended on its own after 4 packets.
      const sumC = JSON.parse(c.stdout.trim().split("\n").pop()!);
      assert.equal(sumC.packets, 4);
      assert.equal((await readAllPackets(countOut)).length, 4);

      // tcpdump's SLL2 capture of the same traffic decodes to the same packets.
      if (tcpdump) {
        const s = await readAllPackets(sll2Out);
        assert.ok(s.length > 0 && s.every((p) => p.linkType === 276));
        const u = s.filter((p) => p.protocol === 17 && p.dstPort === 9999 && p.srcIp === ADDR_B);
        assert.equal(u.length, 6);
        assert.deepEqual(u.map((p) => p.payloadLen), udp.map((p) => p.payloadLen));
        assert.equal(s.filter((p) => echo(p, 8)).length, 6);
      }
    } finally {
      for (const ch of children) ch.kill("SIGKILL");
      for (const ch of children) await ch.finish(5000).catch(() => {});
      teardownNamespaces();
      cleanup();
    }
  },
});

testWhen([needRoot("live capture")], {
  name:
    "live: clear errors for a missing interface, a bad BPF filter; pcap_stats and stop() on an idle interface",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const { LiveSource, listInterfaces } = await import("../../src/capture/live.ts");
    assert.ok(listInterfaces().some((i) => i.name === "lo" && i.loopback));
    assert.throws(() => LiveSource.open({ interface: "nadir-nope0" }), (e: unknown) => {
      assert.ok(e instanceof InputError);
      assert.match(e.message, /no such interface "nadir-nope0"/);
      return true;
    });
    assert.throws(
      () => LiveSource.open({ interface: "lo", filter: "tcp port" }),
      /bad BPF filter "tcp port"/,
    );
    // An idle capture (filter matches nothing) must not block: stop() ends forEach promptly.
    const src = LiveSource.open({ interface: "lo", filter: "udp port 9 and host 192.0.2.99", pollMs: 5 });
    const t0 = performance.now();
    setTimeout(() => src.stop(), 300);
    const st = await src.forEach(() => {});
    const ms = performance.now() - t0;
    src.close();
    assert.ok(ms < 3000, `stop took ${ms.toFixed(0)} ms`);
    assert.equal(st.packets, 0);
    assert.equal(src.linkType, 1);
  },
});

testWhen([needRoot("live capture")], {
  name: "live: a PACKET_FANOUT group splits loopback flows between its handles, both directions in one",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const { LiveSource } = await import("../../src/capture/live.ts");
    // Only this test's connection attempts: 40 closed ports, each a SYN and the kernel's RST. The ports lie
    // below Linux's ephemeral range (32768–60999): a client port there (this test's own, or a connection of
    // a test running beside it) once matched the filter and showed up in both handles.
    const filter = "tcp and host 127.0.0.1 and portrange 29000-29039";
    const a = LiveSource.open({ interface: "lo", fanoutGroup: "new", filter, pollMs: 2 });
    const b = LiveSource.open({ interface: "lo", fanoutGroup: a.fanoutGroup, filter, pollMs: 2 });
    try {
      assert.equal(b.fanoutGroup, a.fanoutGroup);
      const seen = [new Map<number, number>(), new Map<number, number>()];
      const count = (i: number) => (p: { srcPort: number; dstPort: number }) => {
        const port = p.srcPort >= 29000 && p.srcPort < 29040 ? p.srcPort : p.dstPort;
        seen[i].set(port, (seen[i].get(port) ?? 0) + 1);
      };
      const runs = [a.forEach(count(0)), b.forEach(count(1))];
      for (let port = 29000; port < 29040; port++) {
        await Deno.connect({ hostname: "127.0.0.1", port }).then((c) => c.close(), () => {});
      }
      await new Promise((r) => setTimeout(r, 200));
      a.stop();
      b.stop();
      await Promise.all(runs);
      const ports = new Set([...seen[0].keys(), ...seen[1].keys()]);
      assert.equal(ports.size, 40, "every attempt captured once, by one handle or the other");
      for (const [port, n] of seen[0]) assert.ok(!seen[1].has(port), `port ${port}: in both handles (${n})`);
      for (const m of seen) {
        for (const [port, n] of m) assert.equal(n, 2, `port ${port}: SYN and RST together`);
      }
      assert.ok(
        seen[0].size > 0 && seen[1].size > 0,
        `both handles got flows: ${seen[0].size}, ${seen[1].size}`,
      );
      // The group is lo's: another interface cannot join it, and the error says why.
      assert.throws(
        () => LiveSource.open({ interface: "any", fanoutGroup: a.fanoutGroup }),
        (e: unknown) => {
          assert.ok(e instanceof InputError);
          assert.match(e.message, /cannot join PACKET_FANOUT group \d+ on "any": errno 22 \(EINVAL/);
          return true;
        },
      );
      assert.throws(
        () => LiveSource.open({ interface: "lo", fanoutGroup: 70000 }),
        /from 0 to 65535, found 70000/,
      );
    } finally {
      a.close();
      b.close();
    }
  },
});

testWhen([needRoot("live capture")], {
  name: "live: each packet's own bytes, read in libpcap's buffer; drained(beforeUs) leaves none behind it",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const { LiveSource } = await import("../../src/capture/live.ts");
    const port = 41100 + (Deno.pid % 500);
    const src = LiveSource.open({ interface: "lo", filter: `udp and dst port ${port}`, pollMs: 1 });
    // In order: packets as [time µs], drained marks as [time µs, "d"].
    const events: [number, string?][] = [];
    // Each datagram carries its number: the payload read must be the packet's own, not a stale one.
    const numbers: number[] = [];
    const run = src.forEach((p) => {
      events.push([p.tsUs]);
      // The 64-byte payload ends the frame.
      numbers.push(new DataView(p.raw.buffer, p.raw.byteOffset + p.raw.length - 64, 4).getUint32(0));
    }, (b) => void events.push([b, "d"]));
    const { createSocket } = await import("node:dgram");
    const sock = createSocket("udp4");
    try {
      const data = new Uint8Array(64);
      const end = performance.now() + 400;
      // Bursts and pauses, so that polls find the buffer both full and empty.
      for (let i = 0; performance.now() < end; i++) {
        new DataView(data.buffer).setUint32(0, i);
        await new Promise((r) => sock.send(data, port, "127.0.0.1", r));
        if (i % 50 === 49) await new Promise((r) => setTimeout(r, 15));
      }
      await new Promise((r) => setTimeout(r, 100));
    } finally {
      src.stop();
      await run;
      src.close();
      sock.close();
    }
    const packets = events.filter((e) => e[1] === undefined).length;
    const marks = events.filter((e) => e[1] === "d");
    assert.ok(packets > 100, `packets captured: ${packets}`);
    assert.deepEqual(numbers, numbers.map((_, i) => i), "every datagram once, in order, with its own bytes");
    assert.ok(marks.length > 5, `drained marks: ${marks.length}`);
    let vouched = -Infinity;
    for (const [t, kind] of events) {
      if (kind === "d") vouched = Math.max(vouched, t);
      else assert.ok(t >= vouched, `a packet of ${t} came after the buffer vouched for ${vouched}`);
    }
    assert.ok(vouched > Date.now() * 1000 - 5e6 && vouched < Date.now() * 1000, "marks are wall-clock µs");
  },
});
