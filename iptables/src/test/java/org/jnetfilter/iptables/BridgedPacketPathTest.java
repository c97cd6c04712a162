package org.jnetfilter.iptables;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;
import org.jnetfilter.core.conntrack.Conntrack;
import org.jnetfilter.core.conntrack.ConntrackModule;
import org.jnetfilter.core.host.Host;
import org.jnetfilter.core.host.HostFile;
import org.jnetfilter.core.netfilter.Datapath;
import org.jnetfilter.core.netfilter.DropReason;
import org.jnetfilter.core.netfilter.PacketSink;
import org.jnetfilter.core.netfilter.Trace;
import org.jnetfilter.core.rules.Family;
import org.jnetfilter.core.rules.Ruleset;
import org.junit.jupiter.api.Test;

/**
 * Bridged packets through the datapath, as Linux 6.x bridges them with br_netfilter (br_netfilter_hooks.c): a
 * Kubernetes-style node whose pods hang on br0 (10.244.0.1/24) by veth1-3, with eth0 to the LAN. Each scenario sends
 * frames on ports and reads what left by which port, what went up to the host, and the LOG lines of rules in every
 * chain (PHYSIN=/PHYSOUT= as nf_log_syslog prints them). {@code KernelBridgeDifferentialTest} checks the same paths
 * against the kernel.
 */
class BridgedPacketPathTest {
    static final String POD_A = "0a:58:0a:f4:00:02";
    static final String POD_B = "0a:58:0a:f4:00:03";
    static final String POD_C = "0a:58:0a:f4:00:04";
    /** br0 takes the lowest port MAC: veth1's. */
    static final String BR0 = "02:00:00:00:00:11";

    /** br0 with its three ports and the pods' neighbour entries (KernelBridgeDifferentialTest builds it in dut). */
    static final String BRIDGE = """
            link add veth1 address 02:00:00:00:00:11
            link add veth2 address 02:00:00:00:00:12
            link add veth3 address 02:00:00:00:00:13
            link add br0 type bridge
            link set veth1 master br0
            link set veth2 master br0
            link set veth3 master br0
            addr add 10.244.0.1/24 dev br0
            neigh add 10.244.0.2 lladdr 0a:58:0a:f4:00:02 dev br0
            neigh add 10.244.0.3 lladdr 0a:58:0a:f4:00:03 dev br0
            neigh add 10.244.0.4 lladdr 0a:58:0a:f4:00:04 dev br0
            sysctl net.ipv4.ip_forward=1
            """;

    static final String HOST = BRIDGE + """
            link add eth0 address 02:00:00:00:00:01
            addr add 192.168.1.10/24 dev eth0
            route add default via 192.168.1.1
            """;

    /** A nat table with this PREROUTING rule and a filter table that logs FORWARD. */
    static String dnat(String preroutingRule) {
        return """
                *nat
                :PREROUTING ACCEPT [0:0]
                :INPUT ACCEPT [0:0]
                :OUTPUT ACCEPT [0:0]
                :POSTROUTING ACCEPT [0:0]
                -A PREROUTING RULE
                COMMIT
                *filter
                :INPUT ACCEPT [0:0]
                :FORWARD ACCEPT [0:0]
                :OUTPUT ACCEPT [0:0]
                -A FORWARD -j LOG --log-prefix "fwd "
                COMMIT
                """.replace("RULE", preroutingRule);
    }

    static final String LOGGING = """
            *raw
            :PREROUTING ACCEPT [0:0]
            :OUTPUT ACCEPT [0:0]
            -A PREROUTING -j LOG --log-prefix "pre "
            COMMIT
            *filter
            :INPUT ACCEPT [0:0]
            :FORWARD ACCEPT [0:0]
            :OUTPUT ACCEPT [0:0]
            -A INPUT -j LOG --log-prefix "in "
            -A FORWARD -j LOG --log-prefix "fwd "
            -A FORWARD -m physdev --physdev-in veth1 --physdev-out veth3 -j DROP
            COMMIT
            *mangle
            :PREROUTING ACCEPT [0:0]
            :INPUT ACCEPT [0:0]
            :FORWARD ACCEPT [0:0]
            :OUTPUT ACCEPT [0:0]
            :POSTROUTING ACCEPT [0:0]
            -A POSTROUTING -j LOG --log-prefix "post "
            COMMIT
            """;

    final List<String> out = new ArrayList<>();
    final List<byte[]> frames = new ArrayList<>();
    final List<String> log = new ArrayList<>();
    final List<String> drops = new ArrayList<>();
    Datapath datapath;
    Host host;
    long now = 1_000_000_000L;

    void start(String hostText, String rules) throws Exception {
        host = HostFile.parseRunning("node", hostText);
        datapath = new Datapath(host, new PacketSink() {
            @Override
            public void transmit(String ifname, MemorySegment frame) {
                out.add("tx " + ifname);
                frames.add(frame.toArray(ValueLayout.JAVA_BYTE));
            }

            @Override
            public void deliverLocal(String ifname, MemorySegment packet) {
                out.add("local " + ifname);
                frames.add(packet.toArray(ValueLayout.JAVA_BYTE));
            }
        });
        datapath.module(new ConntrackModule(new Conntrack(host)));
        datapath.logSink((level, line) -> log.add(line.strip()));
        datapath.rules(Family.IPV4, SaveFiles.read(Family.IPV4, rules));
    }

    void startWithBrNetfilter(String rules) throws Exception {
        start(HOST + "modprobe br_netfilter\n", rules);
    }

    static byte[] udp(String dstMac, String srcMac, String src, String dst, int sport, int dport) {
        byte[] l4 = new byte[12];
        l4[0] = (byte) (sport >>> 8);
        l4[1] = (byte) sport;
        l4[2] = (byte) (dport >>> 8);
        l4[3] = (byte) dport;
        l4[5] = 12;
        return KernelConntrackHelpersDifferentialTest.frame(dstMac, srcMac,
                KernelConntrackHelpersDifferentialTest.address(src), KernelConntrackHelpersDifferentialTest.address(dst),
                17, l4);
    }

    void send(String port, byte[] frame) {
        datapath.receive(port, MemorySegment.ofArray(frame), true, now, new Trace() {
            @Override
            public void dropped(DropReason reason) {
                drops.add(reason.name());
            }
        });
        now += 1_000_000L;
    }

    /** pod A (veth1) to pod B's address and MAC. */
    byte[] aToB() {
        return udp(POD_B, POD_A, "10.244.0.2", "10.244.0.3", 40000, 53);
    }

    List<String> prefixed(String prefix) {
        return log.stream().filter(l -> l.startsWith(prefix)).map(l -> l.substring(0, l.indexOf(" MAC=") < 0
                ? l.indexOf(" SRC=") : l.indexOf(" MAC="))).toList();
    }

    static int ipByte(byte[] frame, int at) {
        return Byte.toUnsignedInt(frame[14 + at]);
    }

    static String ipv4(byte[] frame, int at) {
        return ipByte(frame, at) + "." + ipByte(frame, at + 1) + "." + ipByte(frame, at + 2) + "." + ipByte(frame, at + 3);
    }

    static String mac(byte[] frame, int at) {
        return java.util.HexFormat.ofDelimiter(":").formatHex(frame, at, at + 6);
    }

    @Test
    void anUnknownDestinationIsFloodedAndEachCopyMeetsForwardAndPostroutingWithItsPorts() throws Exception {
        startWithBrNetfilter(LOGGING);
        send("veth1", aToB());
        // the port list: the last to join first; veth3's copy is dropped by the physdev rule
        assertThat(out).containsExactly("tx veth2");
        assertThat(prefixed("pre ")).containsExactly("pre IN=br0 OUT= PHYSIN=veth1");
        assertThat(prefixed("fwd ")).containsExactly("fwd IN=br0 OUT=br0 PHYSIN=veth1 PHYSOUT=veth3",
                "fwd IN=br0 OUT=br0 PHYSIN=veth1 PHYSOUT=veth2");
        assertThat(prefixed("post ")).containsExactly("post IN= OUT=br0 PHYSIN=veth1 PHYSOUT=veth2");
        assertThat(log.get(0)).contains("MAC=0a:58:0a:f4:00:03:0a:58:0a:f4:00:02:08:00 SRC=10.244.0.2 DST=10.244.0.3")
                .contains("TTL=64");
        assertThat(frames.get(0)).as("bridged, not routed: the frame as it came").isEqualTo(aToB());
    }

    @Test
    void aLearnedDestinationGoesToItsPortOnlyUntilItAgesOut() throws Exception {
        startWithBrNetfilter(LOGGING);
        send("veth1", aToB());
        out.clear();
        send("veth2", udp(POD_A, POD_B, "10.244.0.3", "10.244.0.2", 53, 40000));
        assertThat(out).containsExactly("tx veth1");
        out.clear();
        now += 299_000_000_000L;
        send("veth1", aToB());
        assertThat(out).as("B was learned 299 s ago").containsExactly("tx veth2");
        out.clear();
        now += 300_000_000_000L;
        send("veth3", udp(POD_A, POD_C, "10.244.0.4", "10.244.0.2", 7, 7));
        assertThat(out).as("A aged out after 300 s without traffic: flooded").containsExactly("tx veth2", "tx veth1");
    }

    @Test
    void aFrameForTheBridgeGoesUpWithItsPortThroughPreroutingOnceAndInput() throws Exception {
        startWithBrNetfilter(LOGGING);
        send("veth1", udp(BR0, POD_A, "10.244.0.2", "10.244.0.1", 40000, 53));
        assertThat(out).containsExactly("local br0");
        assertThat(prefixed("pre ")).containsExactly("pre IN=br0 OUT= PHYSIN=veth1");
        assertThat(prefixed("in ")).containsExactly("in IN=br0 OUT= PHYSIN=veth1");
    }

    @Test
    void aBroadcastIsFloodedAndGoesUp() throws Exception {
        startWithBrNetfilter(LOGGING);
        send("veth2", udp("ff:ff:ff:ff:ff:ff", POD_B, "10.244.0.3", "10.244.0.255", 68, 67));
        assertThat(out).containsExactly("tx veth3", "tx veth1", "local br0");
        assertThat(prefixed("in ")).containsExactly("in IN=br0 OUT= PHYSIN=veth2");
    }

    @Test
    void aFrameForThePortItCameInByIsDroppedUnlessThePortIsInHairpinMode() throws Exception {
        startWithBrNetfilter(LOGGING);
        send("veth1", aToB());
        out.clear();
        // C sends by veth1 too (say, a second address behind it) to A, known behind veth1
        send("veth1", udp(POD_A, POD_C, "10.244.0.4", "10.244.0.2", 1, 1));
        assertThat(out).isEmpty();
        assertThat(drops).contains("BRIDGE_NOT_DELIVERED");
        start(HOST + "modprobe br_netfilter\nbridge link set dev veth1 hairpin on\n", LOGGING);
        send("veth1", aToB());
        out.clear();
        send("veth1", udp(POD_A, POD_C, "10.244.0.4", "10.244.0.2", 1, 1));
        assertThat(out).containsExactly("tx veth1");
    }

    @Test
    void withoutBrNetfilterBridgedFramesMeetNoHooksAndWhatGoesUpHasNoPort() throws Exception {
        start(HOST, LOGGING);
        send("veth1", aToB());
        assertThat(out).as("no FORWARD: the physdev DROP never runs").containsExactly("tx veth3", "tx veth2");
        assertThat(log).isEmpty();
        send("veth1", udp(BR0, POD_A, "10.244.0.2", "10.244.0.1", 40000, 53));
        assertThat(prefixed("pre ")).containsExactly("pre IN=br0 OUT=");
        assertThat(prefixed("in ")).containsExactly("in IN=br0 OUT=");
    }

    @Test
    void aLocallySentPacketLeavesByThePortsWithoutAPhysicalOutputPort() throws Exception {
        startWithBrNetfilter(LOGGING);
        datapath.sendLocal(MemorySegment.ofArray(java.util.Arrays.copyOfRange(
                udp(POD_B, BR0, "10.244.0.1", "10.244.0.3", 5353, 53), 14, 14 + 32)), now, Trace.NONE);
        assertThat(out).as("B not learned yet: br_dev_xmit floods").containsExactly("tx veth3", "tx veth2", "tx veth1");
        assertThat(prefixed("post ")).containsExactly("post IN= OUT=br0");
        out.clear();
        send("veth2", udp(BR0, POD_B, "10.244.0.3", "10.244.0.1", 53, 5353));
        out.clear();
        datapath.sendLocal(MemorySegment.ofArray(java.util.Arrays.copyOfRange(
                udp(POD_B, BR0, "10.244.0.1", "10.244.0.3", 5353, 53), 14, 14 + 32)), now, Trace.NONE);
        assertThat(out).containsExactly("tx veth2");
    }

    @Test
    void aServiceAddressDnatToAPodOnTheBridgeStaysBridgedAndItsReplyIsTranslatedBack() throws Exception {
        startWithBrNetfilter(dnat(
                "-d 10.96.0.10/32 -p udp -m udp --dport 53 -j DNAT --to-destination 10.244.0.3:5353"));
        send("veth2", udp(BR0, POD_B, "10.244.0.3", "10.244.0.1", 1, 1));
        out.clear();
        frames.clear();
        // A sends to its gateway's MAC (the bridge): the service is off its subnet
        send("veth1", udp(BR0, POD_A, "10.244.0.2", "10.96.0.10", 40000, 53));
        assertThat(out).containsExactly("tx veth2");
        byte[] f = frames.get(0);
        assertThat(mac(f, 0)).as("the new next hop's MAC").isEqualTo(POD_B);
        assertThat(mac(f, 6)).as("the source MAC kept").isEqualTo(POD_A);
        assertThat(ipv4(f, 16)).isEqualTo("10.244.0.3");
        assertThat(ipByte(f, 8)).as("bridged: no TTL decrement").isEqualTo(64);
        assertThat(prefixed("fwd ")).containsExactly("fwd IN=br0 OUT=br0 PHYSIN=veth1 PHYSOUT=veth2");
        out.clear();
        frames.clear();
        send("veth2", udp(POD_A, POD_B, "10.244.0.3", "10.244.0.2", 5353, 40000));
        assertThat(out).containsExactly("tx veth1");
        assertThat(ipv4(frames.get(0), 12)).as("the reply's source translated back").isEqualTo("10.96.0.10");
    }

    @Test
    void aDnatToADestinationBeyondTheBridgeMakesTheFrameGoUpAndBeRouted() throws Exception {
        startWithBrNetfilter(dnat("-d 10.96.0.20/32 -j DNAT --to-destination 192.168.1.50"));
        send("veth1", udp(BR0, POD_A, "10.244.0.2", "10.96.0.20", 40000, 80));
        assertThat(out).containsExactly("tx eth0");
        byte[] f = frames.get(0);
        assertThat(mac(f, 6)).isEqualTo("02:00:00:00:00:01");
        assertThat(ipByte(f, 8)).as("routed: TTL decremented").isEqualTo(63);
        assertThat(ipv4(f, 16)).isEqualTo("192.168.1.50");
        assertThat(prefixed("fwd ")).containsExactly("fwd IN=br0 OUT=eth0 PHYSIN=veth1");
    }

    @Test
    void bridgedIpv6FramesMeetIp6tablesOnlyWithBridgeNfCallIp6tables() throws Exception {
        String rules6 = """
                *filter
                :INPUT ACCEPT [0:0]
                :FORWARD ACCEPT [0:0]
                :OUTPUT ACCEPT [0:0]
                -A FORWARD -m physdev --physdev-out veth3 -j DROP
                -A FORWARD -j LOG --log-prefix "fwd6 "
                COMMIT
                """;
        byte[] frame = udp(POD_B, POD_A, "fd00::2", "fd00::3", 40000, 53);
        start(HOST + "sysctl net.bridge.bridge-nf-call-iptables=1\n", LOGGING);
        datapath.rules(Family.IPV6, SaveFiles.read(Family.IPV6, rules6));
        send("veth1", frame);
        assertThat(out).as("bridge-nf-call-ip6tables off: bridged as it came").containsExactly("tx veth3", "tx veth2");
        assertThat(log).isEmpty();
        out.clear();
        start(HOST + "sysctl net.bridge.bridge-nf-call-ip6tables=1\n", LOGGING);
        datapath.rules(Family.IPV6, SaveFiles.read(Family.IPV6, rules6));
        send("veth1", frame);
        assertThat(out).containsExactly("tx veth2");
        assertThat(log).singleElement().asString().startsWith(
                "fwd6 IN=br0 OUT=br0 PHYSIN=veth1 PHYSOUT=veth2 MAC=0a:58:0a:f4:00:03:0a:58:0a:f4:00:02:86:dd SRC=fd00:0000:0000:0000:0000:0000:0000:0002");
    }

    @Test
    void hostFileBridgeLinesBuildTheBridgeAndItsSwitches() throws Exception {
        Host h = HostFile.parseRunning("t", HOST + """
                sysctl net.bridge.bridge-nf-call-ip6tables=1
                link set veth3 nomaster
                link set veth2 type bridge_slave hairpin on
                sysctl net.bridge.bridge-nf-call-arptables=1
                """);
        assertThat(h.bridgeNetfilter(Family.IPV4)).isFalse();
        assertThat(h.bridgeNetfilter(Family.IPV6)).isTrue();
        assertThat(h.ports("br0")).extracting(l -> l.name()).containsExactly("veth1", "veth2");
        assertThat(h.link("veth2").hairpin()).isTrue();
        assertThat(h.link("veth3").master()).isNull();
        assertThat(h.notices()).singleElement().asString().contains("arptables is not modelled");
        assertThat(Ruleset.empty(Family.IPV4)).isNotNull();
    }
}
