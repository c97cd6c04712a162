package org.jnetfilter.core.netfilter;

import static org.assertj.core.api.Assertions.assertThat;
import static org.jnetfilter.core.netfilter.DatapathHarness.CLIENT;
import static org.jnetfilter.core.netfilter.DatapathHarness.CLIENT_MAC;
import static org.jnetfilter.core.netfilter.DatapathHarness.ETH0_ADDR;
import static org.jnetfilter.core.netfilter.DatapathHarness.ETH0_MAC;
import static org.jnetfilter.core.netfilter.DatapathHarness.ETH1_ADDR;
import static org.jnetfilter.core.netfilter.DatapathHarness.frame;
import static org.jnetfilter.core.netfilter.DatapathHarness.rules;
import static org.jnetfilter.core.netfilter.DatapathHarness.table;
import static org.jnetfilter.core.netfilter.DatapathHarness.tcp;
import static org.jnetfilter.core.netfilter.Fixtures.builtin;
import static org.jnetfilter.core.netfilter.Fixtures.rule;
import static org.jnetfilter.core.netfilter.Fixtures.target;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;
import org.jnetfilter.core.host.Host;
import org.jnetfilter.core.host.HostFile;
import org.jnetfilter.core.rules.Family;
import org.jnetfilter.core.rules.IpSpec;
import org.jnetfilter.core.rules.Rule;
import org.jnetfilter.core.rules.Ruleset;
import org.jnetfilter.core.rules.TableKind;
import org.junit.jupiter.api.Test;

/**
 * Packets looped back through lo wait in the backlog (netif_rx) as in Linux 6.18, checked in namespaces with LOG
 * rules in every chain and tcpdump on lo: while a received packet is handled, a looped-back one (here a TEE copy
 * rerouted to this host by a mark set in mangle OUTPUT) is received only after the original's whole path, its
 * socket's answer included, and is then copied again by the TEE it meets in PREROUTING (nf_skb_duplicated is long
 * clear); a process's send receives a looped-back TEE copy at the end of nf_dup_ipv4, before the original goes on to
 * POSTROUTING.
 */
class LoopbackBacklogTest {
    static final IpSpec ANY = IpSpec.any(Family.IPV4);

    /** What happened, in order: receptions, mangle hooks, transmissions, local deliveries, the sink's packetDone. */
    final List<String> events = new ArrayList<>();
    final List<Integer> ttls = new ArrayList<>();
    /** What the sink does in packetDone after noting it (a local stack's answer). */
    Runnable whenDone = () -> { };
    final Host host = host();
    final Datapath datapath = new Datapath(host, new PacketSink() {
        @Override
        public void transmit(String ifname, MemorySegment frame) {
            events.add("tx " + ifname);
            ttls.add(Byte.toUnsignedInt(frame.get(ValueLayout.JAVA_BYTE, 14 + 8)));
        }

        @Override
        public void deliverLocal(String ifname, MemorySegment ipPacket) {
            events.add("local " + ifname);
            ttls.add(Byte.toUnsignedInt(ipPacket.get(ValueLayout.JAVA_BYTE, 8)));
        }

        @Override
        public void packetDone() {
            events.add("done");
            whenDone.run();
        }
    });
    final Trace trace = new Trace() {
        @Override
        public void received(String ifname, MemorySegment frame, int packetType) {
            events.add("in " + ifname);
        }

        @Override
        public void hookEntered(Netfilter.Registration f) {
            if (f.name().equals("mangle")) {
                events.add(f.hook().toString());
            }
        }
    };

    static Host host() {
        try {
            return HostFile.parse("test", DatapathHarness.HOST);
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    /** mangle: the given PREROUTING and OUTPUT rules, every other chain empty. */
    static Ruleset mangle(Rule[] prerouting, Rule... output) {
        return rules(Family.IPV4, table(TableKind.MANGLE, Family.IPV4, builtin("PREROUTING", "ACCEPT", prerouting),
                builtin("INPUT", "ACCEPT"), builtin("FORWARD", "ACCEPT"), builtin("OUTPUT", "ACCEPT", output),
                builtin("POSTROUTING", "ACCEPT")));
    }

    static Rule tee(String gateway) {
        return rule(target(ANY, "TEE", "--gateway", gateway));
    }

    @Test
    void aTeeCopyReroutedToThisHostIsReceivedAfterTheOriginalIsDoneAndIsCopiedAgain() {
        // PREROUTING copies to the client; mangle OUTPUT's mark reroutes the copy (addressed to this host) to lo
        Ruleset r = mangle(new Rule[] {tee("10.0.1.10")}, rule(target(ANY, "MARK", "--set-mark", "2")));
        datapath.rules(Family.IPV4, r);
        datapath.receive("eth0", frame(ETH0_MAC, CLIENT_MAC, tcp(CLIENT, ETH0_ADDR)), true, 1_000_000_000L, trace);
        assertThat(events).containsExactly(
                // the original: its copy through OUTPUT and POSTROUTING to lo, queued; then INPUT and delivery
                "in eth0", "PREROUTING", "OUTPUT", "POSTROUTING", "INPUT", "local eth0", "done",
                // the copy from the backlog: copied again (its mark already 2, so that copy leaves to the client)
                "in lo", "PREROUTING", "OUTPUT", "POSTROUTING", "tx eth0", "INPUT", "local lo", "done");
        assertThat(ttls).as("the original, the copy's copy, the copy").containsExactly(64, 62, 63);
        assertThat(r.table(TableKind.MANGLE).chain("PREROUTING").rules().get(0).counters().packets()).isEqualTo(2);
    }

    @Test
    void aTeeCopyLoopedBackInAProcesssSendIsReceivedBeforeTheOriginalReachesPostrouting() {
        // to this host's other address, with a copy to this host's own address: both go out by lo
        datapath.rules(Family.IPV4, mangle(new Rule[0], tee("10.0.2.1")));
        datapath.sendLocal(tcp(ETH0_ADDR, ETH1_ADDR), 1_000_000_000L, trace);
        assertThat(events).containsExactly(
                // the copy, nested in the original's OUTPUT walk, received when nf_dup_ipv4 enables bottom halves
                "OUTPUT", "OUTPUT", "POSTROUTING", "in lo", "PREROUTING", "INPUT", "local lo",
                // the original goes on, and is received right after lo's transmit
                "POSTROUTING", "in lo", "PREROUTING", "INPUT", "local lo", "done");
    }

    @Test
    void whatTheSinkSendsInPacketDoneWaitsItsTurnInTheBacklog() {
        // a local stack answering the first delivery, to this host's other address: the answer loops back, is
        // received after the answering packet's turn, and the sink hears packetDone after each
        List<String> answers = new ArrayList<>();
        whenDone = () -> {
            if (answers.isEmpty()) {
                answers.add("answer");
                datapath.sendLocal(tcp(ETH0_ADDR, ETH1_ADDR), 1_000_000_000L, trace);
            }
        };
        datapath.rules(Family.IPV4, mangle(new Rule[0]));
        datapath.receive("eth0", frame(ETH0_MAC, CLIENT_MAC, tcp(CLIENT, ETH0_ADDR)), true, 1_000_000_000L, trace);
        assertThat(answers).hasSize(1);
        assertThat(events).containsExactly("in eth0", "PREROUTING", "INPUT", "local eth0", "done",
                // the answer's path up to lo, inside packetDone; its reception is the backlog's next packet
                "OUTPUT", "POSTROUTING", "in lo", "PREROUTING", "INPUT", "local lo", "done");
    }

    @Test
    void aTeeToAGatewayOfThisHostInPreroutingStopsAtTheBacklogsBoundWhereLinuxLoopsForEver() {
        // Linux 6.18: each copy comes back by lo and meets the TEE again, for ever (the TTL wraps); here one receive
        // ends after the backlog's bound, the rest dropped
        Ruleset r = mangle(new Rule[] {tee("10.0.2.1")});
        datapath.rules(Family.IPV4, r);
        assertThat(datapath.backlogOverflows()).isZero();
        datapath.receive("eth0", frame(ETH0_MAC, CLIENT_MAC, tcp(CLIENT, ETH0_ADDR)), true, 1_000_000_000L, trace);
        assertThat(datapath.backlogOverflows()).as("the endless loop is told to the embedder").isEqualTo(1);
        long delivered = events.stream().filter(e -> e.equals("local lo")).count();
        assertThat(delivered).isEqualTo(Backlog.MAX_BACKLOG);
        assertThat(r.table(TableKind.MANGLE).chain("PREROUTING").rules().get(0).counters().packets())
                .isEqualTo(Backlog.MAX_BACKLOG + 1);
        // the copies' TTLs go down by one each time, wrapping as Linux's do
        assertThat(ttls.get(1)).isEqualTo(63);
        assertThat(ttls.get(256)).isEqualTo(64);
        // and the next packet finds an empty backlog
        events.clear();
        datapath.rules(Family.IPV4, mangle(new Rule[0]));
        datapath.receive("eth0", frame(ETH0_MAC, CLIENT_MAC, tcp(CLIENT, ETH0_ADDR)), true, 2_000_000_000L, trace);
        assertThat(events).containsExactly("in eth0", "PREROUTING", "INPUT", "local eth0", "done");
    }
}
