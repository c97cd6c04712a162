package org.jnetfilter.iptables;

import static org.assertj.core.api.Assertions.assertThat;
import static org.jnetfilter.iptables.BridgedPacketPathTest.BR0;
import static org.jnetfilter.iptables.BridgedPacketPathTest.POD_A;
import static org.jnetfilter.iptables.BridgedPacketPathTest.POD_B;
import static org.jnetfilter.iptables.BridgedPacketPathTest.POD_C;
import static org.jnetfilter.iptables.BridgedPacketPathTest.udp;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.jnetfilter.core.conntrack.Conntrack;
import org.jnetfilter.core.conntrack.ConntrackModule;
import org.jnetfilter.core.host.Host;
import org.jnetfilter.core.host.HostFile;
import org.jnetfilter.core.netfilter.Datapath;
import org.jnetfilter.core.netfilter.PacketSink;
import org.jnetfilter.core.netfilter.Trace;
import org.jnetfilter.core.rules.Family;
import org.jnetfilter.core.rules.Ruleset;
import org.jnetfilter.core.testkit.KernelSide;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Bridges against the kernel: namespace dut holds br0 (10.244.0.1/24) with ports veth1-3 (veth1 in hairpin mode),
 * br_netfilter's bridge-nf-call-iptables on; pods a, b, c (no addresses, no IPv6) send crafted frames by AF_PACKET
 * and record with tcpdump what reaches them; dut sends one datagram by a raw socket. The ruleset logs every hook and
 * counts physdev and -i/-o rules of every kind, with a DNAT of a service address to pod b (bridged DNAT) and a
 * physdev DROP; ip6tables logs and counts two bridged IPv6 frames (bridge-nf-call-ip6tables). The same frames, in the same order, go through jnetfilter on the same host: the frames each port
 * sent, the LOG lines (PHYSIN=/PHYSOUT=), every rule's counters and the conntrack table must be the kernel's.
 *
 * <p>Runs only as root with ip netns, iptables-legacy, conntrack, tcpdump and python3, where the kernel has the
 * bridge and br_netfilter (a namespace's /proc/sys/net/bridge); otherwise skipped with a message on stderr. Sets
 * net.netfilter.nf_log_all_netns for its run (restored). Namespaces jnf-bridge-PID-*.
 */
class KernelBridgeDifferentialTest {
    private static final long PID = ProcessHandle.current().pid() % 100000;
    private static final String NS = "jnf-bridge-" + PID;
    private static final String DUT = NS + "-dut";
    private static final String[] PODS = {NS + "-a", NS + "-b", NS + "-c"};
    private static final String[] POD_MACS = {POD_A, POD_B, POD_C};
    private static final HexFormat HEX = HexFormat.of();
    /** The LOG prefixes carry the run's id, to find its lines in the kernel log. */
    private static final String TAG = "jb" + PID;

    static final String RULES = """
            *raw
            :PREROUTING ACCEPT [0:0]
            :OUTPUT ACCEPT [0:0]
            -A PREROUTING -j LOG --log-prefix "TAG pre "
            -A OUTPUT -j LOG --log-prefix "TAG out "
            COMMIT
            *mangle
            :PREROUTING ACCEPT [0:0]
            :INPUT ACCEPT [0:0]
            :FORWARD ACCEPT [0:0]
            :OUTPUT ACCEPT [0:0]
            :POSTROUTING ACCEPT [0:0]
            -A PREROUTING -m physdev --physdev-out veth2
            -A PREROUTING -m physdev ! --physdev-out veth2
            -A PREROUTING -m physdev --physdev-is-bridged
            -A PREROUTING -m physdev ! --physdev-is-bridged
            -A PREROUTING -m physdev --physdev-in veth+
            -A PREROUTING -m physdev ! --physdev-in veth2
            -A PREROUTING -m physdev --physdev-is-in
            -A PREROUTING -m physdev ! --physdev-is-out
            -A PREROUTING -i br0
            -A INPUT -m physdev --physdev-is-in
            -A INPUT -m physdev --physdev-in veth2
            -A INPUT -m physdev ! --physdev-is-bridged
            -A INPUT -m physdev --physdev-out veth1
            -A FORWARD -m physdev --physdev-is-bridged
            -A FORWARD -m physdev --physdev-out veth2
            -A FORWARD -m physdev ! --physdev-out veth2
            -A FORWARD -m physdev --physdev-is-out
            -A FORWARD -i br0 -o br0
            -A OUTPUT -m physdev ! --physdev-is-in
            -A OUTPUT -m physdev ! --physdev-is-bridged
            -A POSTROUTING -m physdev --physdev-is-bridged --physdev-out veth1
            -A POSTROUTING -m physdev ! --physdev-is-bridged
            -A POSTROUTING -m physdev --physdev-is-out
            -A POSTROUTING -m physdev --physdev-in veth1
            -A POSTROUTING -o br0
            -A POSTROUTING -j LOG --log-prefix "TAG post "
            COMMIT
            *nat
            :PREROUTING ACCEPT [0:0]
            :INPUT ACCEPT [0:0]
            :OUTPUT ACCEPT [0:0]
            :POSTROUTING ACCEPT [0:0]
            -A PREROUTING -d 10.96.0.10/32 -p udp -m udp --dport 53 -j DNAT --to-destination 10.244.0.3:5353
            -A POSTROUTING -m physdev --physdev-is-bridged
            COMMIT
            *filter
            :INPUT ACCEPT [0:0]
            :FORWARD ACCEPT [0:0]
            :OUTPUT ACCEPT [0:0]
            -A INPUT -j LOG --log-prefix "TAG in "
            -A INPUT -j DROP
            -A FORWARD -j LOG --log-prefix "TAG fwd "
            -A FORWARD -m physdev --physdev-in veth1 --physdev-out veth3 -j DROP
            -A FORWARD -i br0 -o br0 -j ACCEPT
            COMMIT
            """.replace("TAG", TAG);

    /** ip6tables: bridged IPv6 frames with bridge-nf-call-ip6tables (dut has no IPv6 of its own). */
    static final String RULES6 = """
            *raw
            :PREROUTING ACCEPT [0:0]
            :OUTPUT ACCEPT [0:0]
            -A PREROUTING -j LOG --log-prefix "TAG pre6 "
            COMMIT
            *filter
            :INPUT ACCEPT [0:0]
            :FORWARD ACCEPT [0:0]
            :OUTPUT ACCEPT [0:0]
            -A FORWARD -m physdev --physdev-out veth3 -j DROP
            -A FORWARD -m physdev --physdev-is-bridged -j LOG --log-prefix "TAG fwd6 "
            -A FORWARD -o br0
            COMMIT
            """.replace("TAG", TAG);

    /** The host as a HOST file: dut's configuration. */
    static final String HOST = BridgedPacketPathTest.BRIDGE + """
            bridge link set dev veth1 hairpin on
            sysctl net.bridge.bridge-nf-call-iptables=1
            sysctl net.bridge.bridge-nf-call-ip6tables=1
            """;

    /**
     * The traffic in order: who sends (0-2 a pod, by its port; -1 dut's raw socket) and what; or, with {@code
     * command}, a HOST line that changes dut's configuration between two frames (run as {@code ip} or {@code bridge}
     * in dut, applied with HostFile.apply to jnetfilter's host).
     */
    record Send(int pod, byte[] bytes, String command) {
        Send(int pod, byte[] bytes) {
            this(pod, bytes, null);
        }

        static Send configure(String command) {
            return new Send(-2, null, command);
        }
    }

    /** Source addresses no pod has used before, to see what a port in each state learns. */
    private static final String MAC_X = "0a:58:0a:f4:00:a1";
    private static final String MAC_Y = "0a:58:0a:f4:00:a2";
    private static final String MAC_Z = "0a:58:0a:f4:00:a3";
    /** IEEE 802.1D link-local groups: the STP one (forwarded with STP off) and LLDP's (group_fwd_mask bit 14). */
    private static final String STP_GROUP = "01:80:c2:00:00:00";
    private static final String LLDP_GROUP = "01:80:c2:00:00:0e";

    /** A frame of {@code length} bytes with this EtherType (below 0x600: an 802.3 length, as LLC frames have). */
    static byte[] ethernet(String dstMac, String srcMac, int etherType, int length) {
        byte[] f = new byte[length];
        System.arraycopy(KernelConntrackHelpersDifferentialTest.mac(dstMac), 0, f, 0, 6);
        System.arraycopy(KernelConntrackHelpersDifferentialTest.mac(srcMac), 0, f, 6, 6);
        f[12] = (byte) (etherType >>> 8);
        f[13] = (byte) etherType;
        for (int i = 14; i < length; i++) {
            f[i] = (byte) i;
        }
        return f;
    }

    /** {@code frame} with an 802.1Q tag of VLAN {@code vid} after its addresses. */
    static byte[] tagged(int vid, byte[] frame) {
        byte[] f = new byte[frame.length + 4];
        System.arraycopy(frame, 0, f, 0, 12);
        f[12] = (byte) 0x81;
        f[14] = (byte) (vid >>> 8);
        f[15] = (byte) vid;
        System.arraycopy(frame, 12, f, 16, frame.length - 12);
        return f;
    }

    /** An IPv4 UDP frame whose datagram is {@code ipLength} bytes, with or without DF. */
    static byte[] bigUdp(String dstMac, String srcMac, String src, String dst, int ipLength, boolean dontFragment) {
        byte[] l4 = new byte[ipLength - 20];
        l4[0] = (byte) 0x9c;
        l4[1] = 0x41;
        l4[3] = 9;
        l4[4] = (byte) (l4.length >>> 8);
        l4[5] = (byte) l4.length;
        for (int i = 8; i < l4.length; i++) {
            l4[i] = (byte) (i * 7);
        }
        byte[] f = KernelConntrackHelpersDifferentialTest.frame(dstMac, srcMac,
                KernelConntrackHelpersDifferentialTest.address(src), KernelConntrackHelpersDifferentialTest.address(dst),
                17, l4);
        if (!dontFragment) {
            f[20] = 0;
            f[24] = 0;
            f[25] = 0;
            int sum = 0;
            for (int i = 14; i < 34; i += 2) {
                sum += ((f[i] & 0xFF) << 8) | (f[i + 1] & 0xFF);
            }
            sum = (sum & 0xFFFF) + (sum >>> 16);
            sum = ~((sum & 0xFFFF) + (sum >>> 16)) & 0xFFFF;
            f[24] = (byte) (sum >>> 8);
            f[25] = (byte) sum;
        }
        return f;
    }

    static final List<Send> TRAFFIC = List.of(
            // the host sends to b before the bridge knows b: flooded, no physdev-out in POSTROUTING
            new Send(-1, Arrays.copyOfRange(udp(POD_B, BR0, "10.244.0.1", "10.244.0.3", 5000, 9), 14, 14 + 32)),
            // a to b, unknown: flooded; the copy to veth3 dropped by the physdev rule
            new Send(0, udp(POD_B, POD_A, "10.244.0.2", "10.244.0.3", 40000, 7)),
            // b to a, learned: a's port only
            new Send(1, udp(POD_A, POD_B, "10.244.0.3", "10.244.0.2", 7, 40000)),
            // a to the bridge's address: up, INPUT
            new Send(0, udp(BR0, POD_A, "10.244.0.2", "10.244.0.1", 40001, 53)),
            // a broadcast from c: flooded and up
            new Send(2, udp("ff:ff:ff:ff:ff:ff", POD_C, "10.244.0.4", "10.244.0.255", 68, 67)),
            // a to the service address by its gateway: DNAT to b, still bridged; b's answer translated back
            new Send(0, udp(BR0, POD_A, "10.244.0.2", "10.96.0.10", 40002, 53)),
            new Send(1, udp(POD_A, POD_B, "10.244.0.3", "10.244.0.2", 5353, 40002)),
            // a to itself: back out by veth1 (hairpin)
            new Send(0, udp(POD_A, POD_A, "10.244.0.2", "10.244.0.2", 1, 2)),
            // c to b, learned behind veth2
            new Send(2, udp(POD_B, POD_C, "10.244.0.4", "10.244.0.3", 3, 4)),
            // IPv6 between pods: to b (learned), then to an address nobody has shown (flooded, veth3 dropped)
            new Send(0, udp(POD_B, POD_A, "fd00::2", "fd00::3", 40003, 53)),
            new Send(2, udp("0a:58:0a:f4:00:99", POD_C, "fd00::4", "fd00::99", 40004, 53)),
            // port states (STP off): a learning port passes its frames to PREROUTING and learns their source, then
            // drops them; a known address behind it is not delivered (only forwarding ports send)
            Send.configure("bridge link set dev veth3 state learning"),
            new Send(2, udp(POD_B, MAC_X, "10.244.0.4", "10.244.0.3", 5, 6)),
            new Send(0, ethernet(MAC_X, POD_A, 0x88B5, 64)),
            // a listening port drops frames unseen by the hooks and learns nothing (Y is flooded to the others, and
            // back to a by its hairpin port), not even from a link-local group frame it passes up (LLDP)
            Send.configure("bridge link set dev veth3 state 1"),
            new Send(2, udp(POD_B, MAC_Y, "10.244.0.4", "10.244.0.3", 7, 8)),
            new Send(0, ethernet(MAC_Y, POD_A, 0x88B5, 64)),
            new Send(2, ethernet(LLDP_GROUP, MAC_Z, 0x88CC, 60)),
            new Send(0, ethernet(MAC_Z, POD_A, 0x88B5, 64)),
            // blocking: with STP off the port is designated and forwards at once; LLDP's source is learned now
            Send.configure("bridge link set dev veth3 state 4"),
            new Send(2, ethernet(LLDP_GROUP, MAC_Z, 0x88CC, 60)),
            new Send(0, ethernet(MAC_Z, POD_A, 0x88B5, 64)),
            // group_fwd_mask 0x4000: LLDP is forwarded like multicast; the STP group is forwarded with STP off
            Send.configure("link set br0 type bridge group_fwd_mask 0x4000"),
            new Send(0, ethernet(LLDP_GROUP, POD_A, 0x88CC, 60)),
            new Send(1, ethernet(STP_GROUP, POD_B, 0x0026, 60)),
            // a port that goes down forgets what it learned (Z is flooded again) and forwards when it comes up
            Send.configure("bridge link set dev veth3 state 2"),
            Send.configure("link set veth3 down"),
            Send.configure("link set veth3 up"),
            new Send(0, ethernet(MAC_Z, POD_A, 0x88B5, 64)),
            new Send(2, udp(POD_B, POD_C, "10.244.0.4", "10.244.0.3", 9, 10)),
            // the egress port's MTU: a bridged frame beyond it and a VLAN tag's 4 bytes is dropped (is_skb_forwardable);
            // br_netfilter fragments an IPv4 datagram without DF and drops one with DF
            Send.configure("link set veth2 mtu 1000"),
            new Send(0, ethernet(POD_B, POD_A, 0x88B5, 1018)),
            new Send(0, ethernet(POD_B, POD_A, 0x88B5, 1019)),
            // a tagged frame's tag is beside the packet (skb_vlan_untag), not in its length: 4 bytes more pass
            new Send(0, tagged(30, ethernet(POD_B, POD_A, 0x88B5, 1018))),
            new Send(0, tagged(30, ethernet(POD_B, POD_A, 0x88B5, 1019))),
            new Send(0, bigUdp(POD_B, POD_A, "10.244.0.2", "10.244.0.3", 1200, true)),
            new Send(0, bigUdp(POD_B, POD_A, "10.244.0.2", "10.244.0.3", 1200, false)),
            // br_netfilter's switch off for all bridges: bridged IPv4 meets no hook; the bridge's own nf_call_iptables
            // turns them on for it again
            Send.configure("sysctl net.bridge.bridge-nf-call-iptables=0"),
            new Send(0, udp(POD_B, POD_A, "10.244.0.2", "10.244.0.3", 11, 12)),
            Send.configure("link set br0 type bridge nf_call_iptables 1"),
            new Send(0, udp(POD_B, POD_A, "10.244.0.2", "10.244.0.3", 13, 14)),
            // an 802.1Q-tagged IPv4 frame is no IPv4 to br_netfilter while bridge-nf-filter-vlan-tagged is 0 (its
            // default): bridged as it came, tag and all, through no hook
            new Send(0, tagged(10, udp(POD_B, POD_A, "10.244.0.2", "10.244.0.3", 15, 16))),
            // with bridge-nf-filter-vlan-tagged the hooks see it untagged (LOG's MAC= without the tag) and each copy
            // leaves tagged; the broadcast's copy for the host is dropped there (no VLAN device on br0)
            Send.configure("sysctl net.bridge.bridge-nf-filter-vlan-tagged=1"),
            new Send(0, tagged(10, udp(POD_B, POD_A, "10.244.0.2", "10.244.0.3", 17, 18))),
            new Send(0, tagged(20, udp("ff:ff:ff:ff:ff:ff", POD_A, "10.244.0.2", "10.244.0.255", 19, 20))),
            new Send(0, tagged(10, udp(POD_B, POD_A, "fd00::2", "fd00::3", 21, 22))),
            // c is known behind veth3: a port disabled and enabled again by hand keeps what it learned (no flush),
            // the bridge going down and up forgets it (c's address flooded again)
            Send.configure("bridge link set dev veth3 state 0"),
            new Send(0, ethernet(POD_C, POD_A, 0x88B5, 64)),
            Send.configure("bridge link set dev veth3 state 3"),
            new Send(0, ethernet(POD_C, POD_A, 0x88B5, 66)),
            Send.configure("link set br0 down"),
            Send.configure("link set br0 up"),
            new Send(0, ethernet(POD_C, POD_A, 0x88B5, 68)));

    private static String skipReason;
    private static Path dir;
    private static final Map<String, List<String>> kernelFrames = new LinkedHashMap<>();
    private static List<String> kernelLog = List.of();
    private static String kernelSave = "";
    private static String kernelSave6 = "";
    private static String kernelConntrack = "";

    @BeforeAll
    static void record() throws Exception {
        skipReason = KernelSide.unavailable("iptables-legacy", "ip6tables-legacy", "conntrack", "tcpdump", "python3");
        if (skipReason == null && !KernelSide.addNamespaces(DUT)) {
            skipReason = "`ip netns add' does not work here";
        }
        if (skipReason == null && !KernelSide.run(KernelSide.in(DUT, "test", "-e",
                "/proc/sys/net/bridge/bridge-nf-call-iptables")).ok()) {
            skipReason = "no br_netfilter in this kernel (modprobe br_netfilter; .ci/run tries it)";
            KernelSide.deleteNamespaces(DUT);
        }
        if (skipReason != null) {
            KernelSide.skipped("KernelBridgeDifferentialTest", skipReason,
                    "root, ip netns, a kernel with the bridge and br_netfilter, iptables-legacy, ip6tables-legacy, conntrack,"
                            + " tcpdump, python3");
            return;
        }
        dir = Files.createTempDirectory("jnf-bridge");
        Files.writeString(dir.resolve("rules"), RULES);
        Files.writeString(dir.resolve("rules6"), RULES6);
        List<String> lines = new ArrayList<>(List.of("set -e"));
        for (String s : new String[] {"net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1",
            "net.ipv4.ip_forward=1", "net.ipv4.conf.all.rp_filter=0", "net.ipv4.conf.default.rp_filter=0",
            "net.bridge.bridge-nf-call-iptables=1", "net.bridge.bridge-nf-call-ip6tables=1"}) {
            lines.add("ip netns exec " + DUT + " sysctl -qw " + s);
        }
        lines.add("ip -n " + DUT + " link set lo up");
        // no multicast snooping: it joins 224.0.0.106 (multicast router discovery) and reports it by IGMP through
        // the hooks while the test runs; without it multicast is flooded, as jnetfilter's bridge does
        lines.add("ip -n " + DUT + " link add br0 type bridge mcast_snooping 0");
        for (int i = 0; i < 3; i++) {
            String pod = PODS[i];
            lines.add("ip netns add " + pod);
            lines.add("ip netns exec " + pod + " sysctl -qw net.ipv6.conf.all.disable_ipv6=1");
            lines.add("ip netns exec " + pod + " sysctl -qw net.ipv6.conf.default.disable_ipv6=1");
            lines.add("ip -n " + DUT + " link add veth" + (i + 1) + " address 02:00:00:00:00:1" + (i + 1)
                    + " type veth peer name p netns " + pod + " address " + POD_MACS[i]);
            lines.add("ip -n " + DUT + " link set veth" + (i + 1) + " master br0");
            lines.add("ip -n " + pod + " link set p up");
            lines.add("ip -n " + DUT + " link set veth" + (i + 1) + " up");
        }
        lines.add("ip -n " + DUT + " link set veth1 type bridge_slave hairpin on");
        lines.add("ip -n " + DUT + " addr add 10.244.0.1/24 dev br0");
        lines.add("ip -n " + DUT + " link set br0 up");
        for (int i = 0; i < 3; i++) {
            lines.add("ip -n " + DUT + " neigh replace 10.244.0." + (i + 2) + " lladdr " + POD_MACS[i]
                    + " dev br0 nud permanent");
        }
        lines.add("ip netns exec " + DUT + " iptables-legacy-restore < " + dir.resolve("rules"));
        lines.add("ip netns exec " + DUT + " ip6tables-legacy-restore < " + dir.resolve("rules6"));
        KernelSide.Result setup = KernelSide.run(60, null, List.of("bash", "-c", String.join("\n", lines)));
        assertThat(setup.exit()).as(setup.stdout() + setup.stderr()).isZero();

        List<String> traffic = new ArrayList<>(List.of("set -e",
                "old=$(cat /proc/sys/net/netfilter/nf_log_all_netns)",
                "trap 'echo $old > /proc/sys/net/netfilter/nf_log_all_netns' EXIT",
                "echo 1 > /proc/sys/net/netfilter/nf_log_all_netns"));
        for (int i = 0; i < 3; i++) {
            // stopped by their ids once the traffic is over (a fixed timeout cut the capture on a loaded machine)
            traffic.add("ip netns exec " + PODS[i] + " timeout 240 tcpdump -U -Q in -i p -w " + dir.resolve(i + ".pcap")
                    + " 2>" + dir.resolve(i + ".err") + " & captures=\"$captures $!\"");
        }
        traffic.add("for i in $(seq 50); do n=$(cat " + dir + "/*.err 2>/dev/null | grep -c listening || true);"
                + " [ \"$n\" = 3 ] && break; sleep 0.1; done");
        // the ports forward once STP-less ports are up (no listening/learning delay); settle
        traffic.add("sleep 1");
        for (Send s : TRAFFIC) {
            if (s.command() != null) {
                traffic.add(s.command().startsWith("sysctl ") ? "ip netns exec " + DUT + " sysctl -qw "
                        + s.command().substring("sysctl ".length())
                        : s.command().startsWith("bridge ") ? "ip netns exec " + DUT + " " + s.command()
                        : "ip -n " + DUT + " " + s.command());
                // a port coming up forwards once its carrier is seen (linkwatch may wait up to a second)
                traffic.add("sleep " + (s.command().endsWith(" up") ? "1.5" : "0.2"));
                continue;
            }
            if (s.pod() < 0) {
                traffic.add("ip netns exec " + DUT + " python3 -c \"import socket\n"
                        + "s=socket.socket(socket.AF_INET,socket.SOCK_RAW,socket.IPPROTO_RAW)\n"
                        + "s.sendto(bytes.fromhex('" + HEX.formatHex(s.bytes()) + "'),('10.244.0.3',0))\"");
            } else {
                traffic.add("ip netns exec " + PODS[s.pod()] + " python3 -c \"import socket\n"
                        + "s=socket.socket(socket.AF_PACKET,socket.SOCK_RAW); s.bind(('p',0))\n"
                        + "s.send(bytes.fromhex('" + HEX.formatHex(s.bytes()) + "'))\"");
            }
            traffic.add("sleep 0.1");
        }
        traffic.add("sleep 1");
        traffic.add("ip netns exec " + DUT + " iptables-legacy-save -c > " + dir.resolve("save"));
        traffic.add("ip netns exec " + DUT + " ip6tables-legacy-save -c > " + dir.resolve("save6"));
        traffic.add("ip netns exec " + DUT + " conntrack -L > " + dir.resolve("conntrack") + " 2>/dev/null");
        traffic.add("dmesg | grep -o '" + TAG + " .*' > " + dir.resolve("log") + " || true");
        traffic.add("kill -INT $captures; wait");
        KernelSide.Result run = KernelSide.run(180, null, List.of("bash", "-c", String.join("\n", traffic)));
        assertThat(run.exit()).as(run.stdout() + run.stderr()).isZero();
        for (int i = 0; i < 3; i++) {
            kernelFrames.put("veth" + (i + 1), KernelSide.pcapFrames(dir.resolve(i + ".pcap")).stream()
                    .map(HEX::formatHex).toList());
        }
        kernelLog = Files.readAllLines(dir.resolve("log")).stream().map(String::strip).toList();
        kernelSave = Files.readString(dir.resolve("save"));
        kernelSave6 = Files.readString(dir.resolve("save6"));
        kernelConntrack = Files.readString(dir.resolve("conntrack"));
    }

    @AfterAll
    static void clean() throws IOException {
        if (skipReason == null) {
            KernelSide.deleteNamespaces(DUT, PODS[0], PODS[1], PODS[2]);
        }
        KernelSide.deleteScratch(dir);
    }

    /** What jnetfilter did with the same traffic. */
    static final class Replay {
        final Map<String, List<String>> frames = new LinkedHashMap<>();
        final List<String> log = new ArrayList<>();
        final Ruleset rules;
        final Ruleset rules6;
        final String conntrack;

        Replay() throws Exception {
            Host host = HostFile.parseRunning("dut", HOST);
            for (int i = 1; i <= 3; i++) {
                frames.put("veth" + i, new ArrayList<>());
            }
            Datapath d = new Datapath(host, new PacketSink() {
                @Override
                public void transmit(String ifname, MemorySegment frame) {
                    frames.computeIfAbsent(ifname, k -> new ArrayList<>()).add(HEX.formatHex(frame.toArray(
                            ValueLayout.JAVA_BYTE)));
                }

                @Override
                public void deliverLocal(String ifname, MemorySegment packet) {
                }
            });
            Conntrack ct = new Conntrack(host);
            d.module(new ConntrackModule(ct));
            d.logSink((level, line) -> log.add(line.strip()));
            rules = SaveFiles.read(Family.IPV4, RULES);
            d.rules(Family.IPV4, rules);
            rules6 = SaveFiles.read(Family.IPV6, RULES6);
            d.rules(Family.IPV6, rules6);
            long now = 1_000_000_000L;
            for (Send s : TRAFFIC) {
                if (s.command() != null) {
                    HostFile.apply(host, s.command());
                    continue;
                }
                if (s.pod() < 0) {
                    d.sendLocal(MemorySegment.ofArray(s.bytes()), now, Trace.NONE);
                } else {
                    d.receive("veth" + (s.pod() + 1), MemorySegment.ofArray(s.bytes()), true, now, Trace.NONE);
                }
                now += 100_000_000L;
            }
            conntrack = ct.list(Family.IPV4, now);
        }
    }

    private static void assumeKernel() {
        Assumptions.assumeTrue(skipReason == null, () -> "kernel differential test skipped: " + skipReason);
    }

    @Test
    void eachPortSendsTheKernelsFrames() throws Exception {
        assumeKernel();
        Replay r = new Replay();
        assertThat(kernelFrames.get("veth2")).as("the kernel bridged to b").isNotEmpty();
        for (String port : kernelFrames.keySet()) {
            assertThat(r.frames.get(port)).as(port).containsExactlyElementsOf(kernelFrames.get(port));
        }
    }

    @Test
    void logLinesAreTheKernelsWithTheirPorts() throws Exception {
        assumeKernel();
        Replay r = new Replay();
        assertThat(kernelLog).as("the kernel logged").isNotEmpty();
        assertThat(r.log).containsExactlyElementsOf(kernelLog);
    }

    @Test
    void everyRuleCountsWhatTheKernelCounted() throws Exception {
        assumeKernel();
        Replay r = new Replay();
        assertThat(counted(SaveFiles.write(r.rules))).isEqualTo(counted(kernelSave));
        assertThat(counted(SaveFiles.write(r.rules6))).isEqualTo(counted(kernelSave6));
    }

    @Test
    void conntrackHoldsTheKernelsFlows() throws Exception {
        assumeKernel();
        Replay r = new Replay();
        assertThat(withoutTimeouts(r.conntrack)).isEqualTo(withoutTimeouts(kernelConntrack));
    }

    /** Per table, its chain and rule lines with their counters, in order. */
    private static Map<String, List<String>> counted(String save) {
        Map<String, List<String>> byTable = new LinkedHashMap<>();
        List<String> current = null;
        for (String line : save.split("\n")) {
            if (line.startsWith("*")) {
                current = byTable.computeIfAbsent(line, k -> new ArrayList<>());
            } else if (current != null && (line.startsWith("[") || line.startsWith(":"))) {
                current.add(line);
            }
        }
        return new java.util.TreeMap<>(byTable);
    }

    /** conntrack -L lines without the remaining time (the third field), sorted. */
    private static List<String> withoutTimeouts(String listing) {
        return listing.lines().filter(l -> !l.isBlank()).map(l -> l.replaceFirst("^(\\S+\\s+\\d+\\s+)\\d+ ", "$1"))
                .sorted().toList();
    }
}
