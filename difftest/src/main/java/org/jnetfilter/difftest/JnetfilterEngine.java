package org.jnetfilter.difftest;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.jnetfilter.core.conntrack.Conntrack;
import org.jnetfilter.core.conntrack.ConntrackModule;
import org.jnetfilter.core.host.Host;
import org.jnetfilter.core.host.HostFile;
import org.jnetfilter.core.host.HostFileException;
import org.jnetfilter.core.netfilter.Datapath;
import org.jnetfilter.core.netfilter.HookModule;
import org.jnetfilter.core.netfilter.Netfilter;
import org.jnetfilter.core.netfilter.PacketContext;
import org.jnetfilter.core.netfilter.PacketSink;
import org.jnetfilter.core.netfilter.Priorities;
import org.jnetfilter.core.netfilter.Replies;
import org.jnetfilter.core.netfilter.Trace;
import org.jnetfilter.core.packet.Checksums;
import org.jnetfilter.core.reply.IcmpErrors;
import org.jnetfilter.core.reply.RejectReplies;
import org.jnetfilter.core.reply.Reply;
import org.jnetfilter.core.rules.Family;
import org.jnetfilter.core.rules.Hook;
import org.jnetfilter.core.rules.Ruleset;
import org.jnetfilter.iptables.SaveFiles;

/**
 * jnetfilter's side of the comparison: a fresh in-process {@link Datapath} per case over the topology's
 * HOST file (as the kernel side starts each case from restored tables and an empty conntrack), the
 * rulesets read as iptables-restore reads them, REJECT replies and ICMP errors from the reply builders
 * (as {@link Replies#kernel}, with the ICMP rate limits off as the kernel side has them; those sysctls
 * are not in a HOST file's vocabulary),
 * each injected frame received on dut's interface facing its side, 1 ms apart. What the datapath
 * transmits is the observation; counters are read back as {@code iptables-save -c} prints them.
 *
 * <p>A hook function at PREROUTING just after conntrack (-199) tells the local stack the IPv6 header of a UDP
 * datagram conntrack checksummed, as the kernel's skb remembers it (see {@link LocalStack#conntrackChecksummed}).
 *
 * <p>dut's local stack: Linux answers what INPUT delivers to sockets that do not exist (ICMP echo
 * replies, TCP resets from closed ports, port unreachables); {@link LocalStack} answers the same way
 * and sends the answer back through {@link Datapath#sendLocal}, so OUTPUT and POSTROUTING see it.
 */
final class JnetfilterEngine implements EngineUnderTest {
    private static final long STEP_NANOS = 1_000_000L;
    private static final long START_NANOS = 1_000_000_000L;

    private final boolean natTableWorkaround;
    private static final java.util.concurrent.atomic.AtomicInteger RUNS = new java.util.concurrent.atomic.AtomicInteger();

    /** @param natTableWorkaround see the known gap {@code workaround.nat-table-conntrack} */
    JnetfilterEngine(boolean natTableWorkaround) {
        this.natTableWorkaround = natTableWorkaround;
    }

    JnetfilterEngine() {
        this(false);
    }

    /**
     * Linux 6.18's predicate (checked in a namespace): conntrack is on while a rule asks for it
     * (nf_ct_netns_get from a match's or target's checkentry, NAT targets included); a nat table with no
     * such rule tracks nothing. ConntrackHooks.enablesConntrack also counts the nat table's presence, so it
     * is asked here about the rules with the nat table's chains seen as any other table's.
     */
    private static boolean kernelWouldTrack(Ruleset rules) {
        Ruleset r = Ruleset.empty(rules.family());
        for (org.jnetfilter.core.rules.Table t : rules.tables()) {
            if (t.kind() == org.jnetfilter.core.rules.TableKind.NAT) {
                r = r.with(org.jnetfilter.core.rules.Table.of(org.jnetfilter.core.rules.TableKind.MANGLE, rules.family(),
                        t.builtinChains(), new ArrayList<>(t.userChains().values())));
            } else if (t.kind() != org.jnetfilter.core.rules.TableKind.MANGLE) {
                r = r.with(t);
            }
        }
        org.jnetfilter.core.rules.Table mangle = rules.table(org.jnetfilter.core.rules.TableKind.MANGLE);
        Ruleset withMangle = mangle == null ? Ruleset.empty(rules.family()) : Ruleset.empty(rules.family()).with(mangle);
        return org.jnetfilter.core.conntrack.ConntrackHooks.enablesConntrack(r)
                || org.jnetfilter.core.conntrack.ConntrackHooks.enablesConntrack(withMangle);
    }

    @Override
    public Observation run(String ipv4Rules, String ipv6Rules, List<Injection> packets, List<Long> clock) {
        long[] at = clock(packets, clock);
        // the harness's sets with this case's members, as the kernel side refilled them
        SetCatalogue.install(at.length > 0 ? at[0] : START_NANOS, ipv4Rules, ipv6Rules);
        Host host;
        try {
            host = HostFile.parseRunning("difftest", Topology.hostFile());
            // dut's interfaces are made with conf.default.addr_gen_mode=1 (Topology): no link-local addresses,
            // so no IPv6 redirects either
            for (var link : host.links()) {
                if (!link.isLoopback()) {
                    host.sysctl("net.ipv6.conf." + link.name() + ".addr_gen_mode", "1");
                }
            }
            // no ICMPv6 type is rate limited in dut (Topology); IcmpErrors reads this mask from the host
            host.sysctl("net.ipv6.icmp.ratemask", "");
        } catch (HostFileException e) {
            throw new IllegalStateException(e);
        }
        Ruleset r4;
        Ruleset r6;
        // hashlimit tables and recent lists are found by name in the JVM's namespace, as in the kernel's: each run
        // names its own (KernelDut#salted), so no case meets an earlier one's buckets and entries
        int run = RUNS.incrementAndGet();
        try {
            r4 = SaveFiles.read(Family.IPV4, KernelDut.salted(Rulesets.withAllTables(ipv4Rules), run));
            r6 = SaveFiles.read(Family.IPV6, KernelDut.salted(Rulesets.withAllTables(ipv6Rules), run));
        } catch (SaveFiles.Invalid e) {
            throw new IllegalStateException("jnetfilter refuses a ruleset the kernel took: " + e.getMessage(), e);
        }
        Collector sink = new Collector();
        Datapath dp = new Datapath(host, sink);
        // issue 5: the kernel differential test runs with the compiled classifiers, not the linear reference
        dp.walker(org.jnetfilter.core.netfilter.TableWalker.CLASSIFIED);
        IcmpErrors icmp = new IcmpErrors(host, 0x5eed);
        // the kernel side runs with these (Topology): every error is sent whatever the pace
        icmp.sysctl("net.ipv4.icmp_ratemask", 0).sysctl("net.ipv4.icmp_ratelimit", 0).sysctl("net.ipv6.icmp.ratelimit", 0)
                .sysctl("net.ipv4.icmp_msgs_per_sec", 1_000_000).sysctl("net.ipv4.icmp_msgs_burst", 1_000_000);
        RejectReplies reject = new RejectReplies(icmp);
        Replies replies = new Replies() {
            @Override
            public Reply reject(PacketContext pkt, int rejectWith) {
                return reject.reply(pkt, rejectWith);
            }

            @Override
            public Reply icmpError(PacketContext pkt, int type, int code, int info) {
                return icmp.send(pkt, type, code, info);
            }

            @Override
            public Reply redirect6(PacketContext pkt, org.jnetfilter.core.host.IpAddress target) {
                return icmp.ndiscRedirect(pkt, target);
            }

            @Override
            public boolean ipErrorAllowed(PacketContext pkt) {
                return icmp.ipErrorAllow(pkt);
            }
        };
        dp.replies(replies);
        sink.replies = replies;
        dp.random(new SplittableRandom(1));
        // conntrack and NAT register while the rules need them, as Linux does per namespace
        Conntrack conntrack = new Conntrack(host);
        ConntrackModule module = new ConntrackModule(conntrack);
        // wraps the module to decide when it is needed (see kernelWouldTrack); Linux's conntrack brings
        // nf_defrag_ipv4/ipv6 with it, so the wrapper defragments as the module itself does
        dp.module(new HookModule() {
            @Override
            public boolean needed(Family family, Ruleset rules) {
                boolean asked = module.needed(family, rules);
                return natTableWorkaround ? kernelWouldTrack(rules) : asked;
            }

            @Override
            public List<Netfilter.Registration> register(Netfilter netfilter, Family family,
                    java.util.function.Supplier<Ruleset> rules) {
                return module.register(netfilter, family, rules);
            }

            @Override
            public boolean defragments() {
                return true;
            }

            @Override
            public Conntrack conntrack() {
                return conntrack;
            }
        });
        dp.rules(Family.IPV4, r4);
        dp.rules(Family.IPV6, r6);
        sink.stack = new LocalStack(host, icmp);
        // what conntrack's UDP checksum left in the kernel's skb, for the local stack (LocalStack#conntrackChecksummed)
        dp.netfilter().register(Family.IPV6, Hook.PREROUTING, Priorities.CONNTRACK + 1, "difftest-udp6-checksum",
                pkt -> {
                    if (pkt.conntrack() != null && pkt.protocol() == Checksums.PROTO_UDP && pkt.transportAvailable(8)
                            && pkt.transportU16(6) != 0 && pkt.inInterface().startsWith("veth")) {
                        sink.stack.conntrackChecksummed(LocalStack.ipv6HeaderSum(pkt.segment(), pkt.networkOffset()));
                    }
                    return org.jnetfilter.core.netfilter.Verdict.ACCEPT;
                });
        List<List<Observation.Emitted>> emitted = new ArrayList<>(packets.size());
        long now = START_NANOS;
        for (int i = 0; i < packets.size(); i++) {
            Injection in = packets.get(i);
            now = at[i];
            sink.current = new ArrayList<>();
            sink.linkBroadcast = in.frame().length >= 6 && (in.frame()[0] & 1) != 0;
            sink.now = now;
            sink.datapath = dp;
            sink.stack.conntrackChecksummed(-1);
            try {
                // the local stack answers in packetDone, after each packet and before the backlog's next one
                dp.receive(in.dutInterface(), MemorySegment.ofArray(in.frame().clone()), true, now, TRACE);
            } catch (RuntimeException e) {
                if (Boolean.getBoolean("jnf.difftest.stacks")) {
                    e.printStackTrace();
                }
                // a failure of the engine is a difference like any other: shown, shrunk, reported
                sink.current.add(new Observation.Emitted(Observation.Emitted.ENGINE_FAILURE,
                        String.valueOf(e).getBytes(java.nio.charset.StandardCharsets.UTF_8)));
            }
            emitted.add(sink.current);
        }
        return new Observation(emitted,
                Rulesets.counters(KernelDut.unsalted(SaveFiles.write(dp.rules(Family.IPV4)), run)),
                Rulesets.counters(KernelDut.unsalted(SaveFiles.write(dp.rules(Family.IPV6)), run)),
                Observation.conntrackLines(conntrack.list(null, clock.size() > packets.size()
                        ? Math.max(now, clock.get(packets.size())) : now)), List.of(), dp.backlogOverflows() > 0);
    }

    /**
     * {@code -Djnf.difftest.trace=true}: the engine's events printed to standard error, to explain a mismatch by
     * hand (hooks, rules, routes, generated packets, drops); none otherwise.
     */
    private static final Trace TRACE = Boolean.getBoolean("jnf.difftest.trace") ? new Trace() {
        @Override
        public void rule(org.jnetfilter.core.rules.Table table, org.jnetfilter.core.rules.Chain chain, int ruleNumber,
                org.jnetfilter.core.rules.Rule rule) {
            System.err.println("  trace: " + table.kind() + " " + chain.name() + " #" + ruleNumber + " matched");
        }

        @Override
        public void policy(org.jnetfilter.core.rules.Table table, org.jnetfilter.core.rules.Chain builtin, int verdict) {
            System.err.println("  trace: " + table.kind() + " " + builtin.name() + " policy " + verdict);
        }

        @Override
        public void hookVerdict(Netfilter.Registration function, int verdict) {
            System.err.println("  trace: hook " + function + " -> " + verdict);
        }

        @Override
        public void routed(Hook where, org.jnetfilter.core.netfilter.RouteDecision decision) {
            System.err.println("  trace: routed at " + where + ": " + decision);
        }

        @Override
        public void generated(String kind, MemorySegment datagram) {
            System.err.println("  trace: generated " + kind);
        }

        @Override
        public void transmitted(String ifname, MemorySegment frame) {
            System.err.println("  trace: transmitted on " + ifname);
        }

        @Override
        public void dropped(org.jnetfilter.core.netfilter.DropReason reason) {
            System.err.println("  trace: dropped " + reason);
        }
    } : Trace.NONE;

    /**
     * When each packet arrives: at the kernel side's times of sending when given (so token buckets, recent lists
     * and time matches see the same clock; nothing of it is random; the differential run gives them on the kernel's
     * jiffies, {@link KernelJiffies#onKernelJiffies}), else 1 ms apart plus the pauses.
     */
    static long[] clock(List<Injection> packets, List<Long> kernelClock) {
        long[] at = new long[packets.size()];
        if (kernelClock.size() >= packets.size() && !packets.isEmpty()) {
            for (int i = 0; i < at.length; i++) {
                at[i] = kernelClock.get(i);
            }
            return at;
        }
        long now = START_NANOS;
        for (int i = 0; i < at.length; i++) {
            now += packets.get(i).pauseMillis() * 1_000_000L;
            at[i] = now;
            now += STEP_NANOS;
        }
        return at;
    }

    /** Copies what the datapath sends; local deliveries are answered after the receive returns. */
    private static final class Collector implements PacketSink {
        List<Observation.Emitted> current = new ArrayList<>();
        final List<byte[]> delivered = new ArrayList<>();
        final List<String> deliveredOn = new ArrayList<>();
        final List<Integer> deliveredOptions = new ArrayList<>();
        LocalStack stack;
        Replies replies;
        boolean linkBroadcast;
        Datapath datapath;
        long now;

        @Override
        public void transmit(String ifname, MemorySegment ethernetFrame) {
            byte[] f = ethernetFrame.toArray(ValueLayout.JAVA_BYTE);
            if (!Frames.isNeighbourDiscovery(f) && (ifname.equals(Topology.DUT_A) || ifname.equals(Topology.DUT_B))) {
                current.add(new Observation.Emitted(ifname, f));
            }
        }

        @Override
        public void deliverLocal(String ifname, MemorySegment ipPacket) {
            deliverLocal(ifname, ipPacket, 0);
        }

        @Override
        public void deliverLocal(String ifname, MemorySegment ipPacket, int ipv4Options) {
            delivered.add(ipPacket.toArray(ValueLayout.JAVA_BYTE));
            deliveredOn.add(ifname);
            deliveredOptions.add(ipv4Options);
        }

        /**
         * The local stack's answers, sent as the kernel's sockets send them while the softirq runs: after the packet
         * that was delivered, before the next packet of the backlog, through OUTPUT.
         */
        @Override
        public void packetDone() {
            while (!delivered.isEmpty()) {
                byte[] d = delivered.remove(0);
                byte[] answer = stack.answer(deliveredOn.remove(0), d, deliveredOptions.remove(0), linkBroadcast, now);
                if (answer == null) {
                    continue;
                }
                // Linux: the ICMP socket sends echo replies and errors holding icmp_xmit_lock; an error a
                // REJECT raises about them meanwhile finds the lock taken and is not sent (icmp_send returns)
                boolean icmpSocket = LocalStack.isIcmp(answer);
                if (icmpSocket) {
                    datapath.replies(Replies.NONE);
                }
                try {
                    // Linux: echo replies, port unreachables and IPv4 closed ports' resets leave through a control socket
                    // (ip_append_data / ip6_append_data own the skb: a socket without a file, which xt_owner
                    // --socket-exists finds); tcp_v6_send_response sends its reset by ip6_xmit with no owner
                    boolean v6Reset = (answer[0] & 0xF0) == 0x60 && answer[6] == Checksums.PROTO_TCP;
                    long owner = v6Reset ? -1 : PacketContext.KERNEL_SOCKET;
                    datapath.sendLocal(MemorySegment.ofArray(answer), now, TRACE, owner, owner, stack.answerOptions());
                } finally {
                    if (icmpSocket) {
                        datapath.replies(replies);
                    }
                }
            }
        }
    }
}
