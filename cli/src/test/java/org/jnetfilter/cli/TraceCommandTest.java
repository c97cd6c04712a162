package org.jnetfilter.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TraceCommandTest {
    @TempDir
    Path dir;

    private static final String RULES = """
            *mangle
            :PREROUTING ACCEPT [0:0]
            :INPUT ACCEPT [0:0]
            :FORWARD ACCEPT [0:0]
            :OUTPUT ACCEPT [0:0]
            :POSTROUTING ACCEPT [0:0]
            -A PREROUTING -p tcp -m tcp --dport 8080 -j MARK --set-xmark 0x4000/0x4000
            COMMIT
            *filter
            :INPUT DROP [0:0]
            :FORWARD DROP [0:0]
            :OUTPUT ACCEPT [0:0]
            :SERVICES - [0:0]
            -A INPUT -j SERVICES
            -A INPUT -p tcp -j LOG --log-prefix "in: "
            -A SERVICES -p tcp -m tcp --dport 22 -j ACCEPT
            -A SERVICES -m mark --mark 0x4000/0x4000 -j RETURN
            COMMIT
            """;

    private String[] run(String... args) {
        ByteArrayOutputStream o = new ByteArrayOutputStream();
        ByteArrayOutputStream e = new ByteArrayOutputStream();
        int code = Main.run("jnf", args, new PrintStream(o, true, StandardCharsets.UTF_8), new PrintStream(e, true, StandardCharsets.UTF_8));
        return new String[] {String.valueOf(code), o.toString(StandardCharsets.UTF_8), e.toString(StandardCharsets.UTF_8)};
    }

    @Test
    void showsNflogEventsAndTheSocketOwnerOfALocalPacket() throws Exception {
        Files.writeString(dir.resolve("rules"), """
                *filter
                :INPUT ACCEPT [0:0]
                :FORWARD ACCEPT [0:0]
                :OUTPUT ACCEPT [0:0]
                -A OUTPUT -m owner --uid-owner 1000 -j NFLOG --nflog-prefix web --nflog-group 3 --nflog-size 40
                -A OUTPUT -j LOG --log-uid
                COMMIT
                """);
        String[] r = run("trace", "--rules", dir.resolve("rules").toString(), "--uid", "1000", "--gid", "100",
                "tcp 10.0.0.1:40000 -> 10.0.0.9:80 in @local");
        assertThat(r[2]).isEmpty();
        assertThat(r[1]).contains("nflog: group 3 prefix \"web\", 40 of 60 bytes", "UID=1000 GID=100");
        String[] none = run("trace", "--rules", dir.resolve("rules").toString(), "tcp 10.0.0.1:40000 -> 10.0.0.9:80 in @local");
        assertThat(none[1]).doesNotContain("nflog:", "UID=");
        assertThat(run("trace", "--rules", dir.resolve("rules").toString(), "--uid", "x", "tcp 10.0.0.1:1 -> 10.0.0.9:80")[0])
                .isEqualTo("2");
    }

    @Test
    void showsEveryChainAndMatchingRuleWithWhatItsTargetDid() throws Exception {
        Files.writeString(dir.resolve("rules"), RULES);
        String[] r = run("trace", "--rules", dir.resolve("rules").toString(), "tcp 192.168.1.5:5000 -> 192.168.1.20:8080 in eth0");
        assertThat(r[2]).isEmpty();
        assertThat(r[0]).isEqualTo("0");
        String out = r[1];
        assertThat(out).contains("packet  tcp 192.168.1.5:5000 -> 192.168.1.20:8080 in eth0 flags S len 60 ttl 64",
                "addr add 192.168.1.20/24 dev eth0",
                "  mangle PREROUTING\n    1   -A PREROUTING -p tcp -m tcp --dport 8080 -j MARK --set-xmark 0x4000/0x4000\n            -> mark 0x0 -> 0x4000\n",
                "route local",
                "  filter INPUT\n    1   -A INPUT -j SERVICES\n            -> jump to SERVICES\n",
                "  filter SERVICES\n    2   -A SERVICES -m mark --mark 0x4000/0x4000 -j RETURN\n            -> RETURN to INPUT\n",
                "    2   -A INPUT -p tcp -j LOG --log-prefix \"in: \"\n            log: in: IN=eth0 OUT= MAC=",
                "MARK=0x4000",
                "    policy DROP\n",
                "verdict DROP");
        assertThat(out.indexOf("PREROUTING")).isLessThan(out.indexOf("INPUT\n"));
    }

    @Test
    void aLocalPacketStartsAtOutputAndAForwardedOneIsRouted() throws Exception {
        Files.writeString(dir.resolve("rules"), RULES);
        String local = run("trace", "--rules", dir.resolve("rules").toString(), "udp 10.1.0.1:1000 -> 10.9.0.9:53 in @local")[1];
        assertThat(local).contains("sent by this host: udp 10.1.0.1:1000 -> 10.9.0.9:53", "route output dev eth0 via 10.1.0.254",
                "OUTPUT", "verdict ACCEPT: out eth0 as udp 10.1.0.1:1000 -> 10.9.0.9:53");
        String fwd = run("trace", "--rules", dir.resolve("rules").toString(), "tcp 10.0.0.2:40000 -> 172.30.0.44:80 in eth0")[1];
        assertThat(fwd).contains("route forward dev eth0 via 10.0.0.254", "filter FORWARD: no rule matched, policy DROP", "verdict DROP");
    }

    /** A HOST file's br0 with ports veth1 and veth2, br_netfilter loaded. */
    private static final String TWO_PORT_BRIDGE = """
            link add veth1 address 02:00:00:00:00:11
            link add veth2 address 02:00:00:00:00:12
            link add br0 type bridge
            link set veth1 master br0
            link set veth2 master br0
            addr add 10.244.0.1/24 dev br0
            modprobe br_netfilter
            """;

    @Test
    void aPacketOnABridgePortShowsTheBridgeDecisionAndItsPorts() throws Exception {
        Files.writeString(dir.resolve("host"), TWO_PORT_BRIDGE + "sysctl net.bridge.bridge-nf-call-arptables=1\n");
        Files.writeString(dir.resolve("rules"), """
                *nat
                :PREROUTING ACCEPT [0:0]
                :INPUT ACCEPT [0:0]
                :OUTPUT ACCEPT [0:0]
                :POSTROUTING ACCEPT [0:0]
                -A PREROUTING -d 10.96.0.10/32 -p tcp -m tcp --dport 80 -j DNAT --to-destination 10.244.0.3:8080
                COMMIT
                *filter
                :INPUT ACCEPT [0:0]
                :FORWARD DROP [0:0]
                :OUTPUT ACCEPT [0:0]
                -A FORWARD -m physdev --physdev-is-bridged -j LOG --log-prefix "br "
                -A FORWARD -i br0 -o br0 -j ACCEPT
                COMMIT
                """);
        String[] r = run("trace", "--host", dir.resolve("host").toString(), "--rules", dir.resolve("rules").toString(),
                "tcp 10.244.0.2:40000 -> 10.96.0.10:80 in veth1");
        assertThat(r[2]).contains("arptables is not modelled");
        assertThat(r[1]).contains("destination MAC: the DNAT destination's, still bridged",
                "bridge br0: in by port veth1, flooded to its ports (1)",
                "log: br IN=br0 OUT=br0 PHYSIN=veth1 PHYSOUT=veth2 ",
                "verdict ACCEPT: out veth2 as tcp 10.244.0.2:40000 -> 10.244.0.3:8080 len 60 ttl 64");
    }

    @Test
    void aPortsStpStateShowsWhereTheBridgeDropsTheFrame() throws Exception {
        Files.writeString(dir.resolve("rules"), """
                *raw
                :PREROUTING ACCEPT [0:0]
                :OUTPUT ACCEPT [0:0]
                -A PREROUTING -m physdev --physdev-in veth1 -j LOG --log-prefix "pre "
                COMMIT
                """);
        Files.writeString(dir.resolve("learning"), TWO_PORT_BRIDGE + "bridge link set dev veth1 state learning\n");
        String[] r = run("trace", "--host", dir.resolve("learning").toString(), "--rules",
                dir.resolve("rules").toString(), "udp 10.244.0.2:40000 -> 10.244.0.3:53 in veth1");
        assertThat(r[1]).contains("log: pre IN=br0 OUT= PHYSIN=veth1 ",
                "dropped: bridge port learning (STP state): source learned, frame dropped");
        Files.writeString(dir.resolve("listening"), TWO_PORT_BRIDGE + "bridge link set dev veth1 state 1\n");
        r = run("trace", "--host", dir.resolve("listening").toString(), "--rules", dir.resolve("rules").toString(),
                "udp 10.244.0.2:40000 -> 10.244.0.3:53 in veth1");
        assertThat(r[1]).doesNotContain("log: pre ")
                .contains("dropped: bridge port not forwarding (STP state disabled, listening or blocking)");
        Files.writeString(dir.resolve("peer"), TWO_PORT_BRIDGE + "bridge link set dev veth2 state learning\n");
        r = run("trace", "--host", dir.resolve("peer").toString(), "--rules", dir.resolve("rules").toString(),
                "udp 10.244.0.2:40000 -> 10.244.0.3:53 in veth1");
        assertThat(r[1]).contains("bridge br0: in by port veth1, flooded to its ports (0)",
                "dropped: no bridge port to deliver to");
    }

    @Test
    void jsonCarriesTheSameEventsWithTheirFields() throws Exception {
        Files.writeString(dir.resolve("rules"), RULES);
        String[] r = run("trace", "--json", "--rules", dir.resolve("rules").toString(), "tcp 192.168.1.5:5000 -> 192.168.1.20:22 in eth0");
        assertThat(r[0]).isEqualTo("0");
        assertThat(r[1]).startsWith("{\"packet\":\"tcp 192.168.1.5:5000 -> 192.168.1.20:22 in eth0 flags S len 60 ttl 64\"")
                .contains("\"host_derived\":true",
                        "{\"depth\":0,\"event\":\"rule\",\"text\":\"1   -A SERVICES -p tcp -m tcp --dport 22 -j ACCEPT\",\"table\":\"filter\",\"chain\":\"SERVICES\",\"rule\":\"1\",\"spec\":\"-A SERVICES -p tcp -m tcp --dport 22 -j ACCEPT\"}",
                        "\"verdict\":\"ACCEPT\",\"egress\":\"@local\"")
                .endsWith("}\n");
    }

    @Test
    void theDemoTracesANodePortConnectionThroughDnatAndMasqueradeAndARejectedService() {
        String[] r = run("demo");
        assertThat(r[2]).isEmpty();
        assertThat(r[0]).isEqualTo("0");
        assertThat(r[1]).contains("conntrack_in: ACCEPT, ctstate NEW",
                "  nat KUBE-NODEPORTS\n    1   -A KUBE-NODEPORTS -p tcp -m comment --comment \"default/web:http\" -m tcp --dport 30080 -j KUBE-EXT-LOLE4ISW44XBNF3G",
                "-j DNAT --to-destination 10.244.1.5:8080\n            -> ACCEPT: DNAT binding made for the connection (applied after the walk)",
                "nat_in: ACCEPT, dst 192.168.1.10:30080 -> 10.244.1.5:8080",
                "-j MASQUERADE --random-fully",
                "nat_out: ACCEPT, src 192.168.1.50:51000 -> 10.244.1.1:",
                "verdict ACCEPT: out cni0 as tcp 10.244.1.1:",
                "generated REJECT: icmp 10.244.1.1 -> 10.244.1.7 type 3 code 3");
    }

    @Test
    void aSynMeetingSynproxyIsAnsweredWithTheCookieSynAckAndStolen() throws Exception {
        Files.writeString(dir.resolve("rules"), """
                *raw
                :PREROUTING ACCEPT [0:0]
                :OUTPUT ACCEPT [0:0]
                -A PREROUTING -p tcp -m tcp --dport 80 --tcp-flags FIN,SYN,RST,ACK SYN -j CT --notrack
                COMMIT
                *filter
                :INPUT ACCEPT [0:0]
                :FORWARD ACCEPT [0:0]
                :OUTPUT ACCEPT [0:0]
                -A FORWARD -p tcp -m tcp --dport 80 -m conntrack --ctstate INVALID,UNTRACKED -j SYNPROXY --sack-perm --timestamp --wscale 7 --mss 1460
                -A FORWARD -m conntrack --ctstate INVALID -j DROP
                COMMIT
                """);
        String[] r = run("trace", "--rules", dir.resolve("rules").toString(), "tcp 10.0.1.2:40000 -> 10.0.2.2:80 in eth0");
        assertThat(r[0]).isEqualTo("0");
        // the SYN-ACK goes out through OUTPUT and POSTROUTING (the synproxy hook there) before the rule's verdict
        assertThat(r[1]).contains("generated SYNPROXY: tcp 10.0.2.2:80 -> 10.0.1.2:40000 len 60 ttl 64",
                "      synproxy: ACCEPT\n", "    sent out eth0: tcp 10.0.2.2:80 -> 10.0.1.2:40000 len 60 ttl 64\n"
                        + "            -> STOLEN\n", "verdict STOLEN");
    }

    @Test
    void rulesNamingSetsUseTheSetsOfAnIpsetSaveFile() throws Exception {
        Files.writeString(dir.resolve("sets"), """
                create blocked hash:net family inet hashsize 1024 maxelem 65536
                add blocked 203.0.113.0/24
                """);
        Files.writeString(dir.resolve("rules"), """
                *filter
                :INPUT ACCEPT [0:0]
                :FORWARD ACCEPT [0:0]
                :OUTPUT ACCEPT [0:0]
                -A INPUT -m set --match-set blocked src -j DROP
                COMMIT
                """);
        String[] hit = run("trace", "--ipsets", dir.resolve("sets").toString(), "--rules", dir.resolve("rules").toString(),
                "tcp 203.0.113.9:5000 -> 203.0.113.1:22 in eth0");
        assertThat(hit[2]).isEmpty();
        assertThat(hit[1]).contains("-A INPUT -m set --match-set blocked src -j DROP\n            -> DROP", "verdict DROP");
        String miss = run("trace", "--ipsets", dir.resolve("sets").toString(), "--rules", dir.resolve("rules").toString(),
                "tcp 198.51.100.9:5000 -> 198.51.100.1:22 in eth0")[1];
        assertThat(miss).contains("verdict ACCEPT");
    }

    @Test
    void mistakesAreNamed() throws Exception {
        Files.writeString(dir.resolve("rules"), RULES);
        String[] r = run("trace", "--rules", dir.resolve("rules").toString(), "tcp 10.0.0.2 -> 10.0.0.1");
        assertThat(r[0]).isEqualTo("2");
        assertThat(r[2]).contains("destination port");
        r = run("trace", "--rules", dir.resolve("nope").toString(), "tcp 10.0.0.2:1 -> 10.0.0.1:2");
        assertThat(r[0]).isEqualTo("1");
        assertThat(r[2]).contains("No such file");
        Files.writeString(dir.resolve("bad"), "*filter\n-A INPUT -j NOPE\nCOMMIT\n");
        r = run("trace", "--rules", dir.resolve("bad").toString(), "tcp 10.0.0.2:1 -> 10.0.0.1:2");
        assertThat(r[2]).contains("Couldn't load target `NOPE'");
    }
}
