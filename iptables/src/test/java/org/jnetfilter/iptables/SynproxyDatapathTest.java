package org.jnetfilter.iptables;

import static org.assertj.core.api.Assertions.assertThat;
import static org.jnetfilter.iptables.TcpSegment.ACK;
import static org.jnetfilter.iptables.TcpSegment.CWR;
import static org.jnetfilter.iptables.TcpSegment.ECE;
import static org.jnetfilter.iptables.TcpSegment.PSH;
import static org.jnetfilter.iptables.TcpSegment.RST;
import static org.jnetfilter.iptables.TcpSegment.SYN;
import static org.jnetfilter.iptables.TcpSegment.hex;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.jnetfilter.core.conntrack.Conntrack;
import org.jnetfilter.core.conntrack.ConntrackModule;
import org.jnetfilter.core.conntrack.Synproxy;
import org.jnetfilter.core.conntrack.SynproxyModule;
import org.jnetfilter.core.host.Host;
import org.jnetfilter.core.host.HostFile;
import org.jnetfilter.core.netfilter.Datapath;
import org.jnetfilter.core.netfilter.PacketSink;
import org.jnetfilter.core.netfilter.Trace;
import org.jnetfilter.core.rules.Family;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * SYNPROXY through the whole datapath (the target, its hooks, conntrack, seqadj), as Linux 6.x: a router between a
 * client (10.0.1.2, fd01::2 on c0) and a server (10.0.2.2, fd02::2 on s0) with the usual setup (the SYN untracked in
 * raw, SYNPROXY on INVALID,UNTRACKED in FORWARD, INVALID dropped, nf_conntrack_tcp_loose 0). Cookie values depend
 * on the secret: they are checked by what they decode to.
 */
class SynproxyDatapathTest {
    static final long C_MAC = 0x020000000102L;
    static final long DC_MAC = 0x020000000101L;
    static final long DS_MAC = 0x020000000201L;
    static final long S_MAC = 0x020000000202L;
    static final byte[] CLIENT = {10, 0, 1, 2};
    static final byte[] SERVER = {10, 0, 2, 2};
    static final byte[] CLIENT6 = hex6("fd010000000000000000000000000002");
    static final byte[] SERVER6 = hex6("fd020000000000000000000000000002");

    static byte[] hex6(String h) {
        return TcpSegment.hex(h);
    }

    static final String HOST = """
            link add d0 address 02:00:00:00:01:01
            addr add 10.0.1.1/24 dev d0
            addr add fd01::1/64 dev d0
            link add d1 address 02:00:00:00:02:01
            addr add 10.0.2.1/24 dev d1
            addr add fd02::1/64 dev d1
            neigh add 10.0.1.2 lladdr 02:00:00:00:01:02 dev d0
            neigh add 10.0.2.2 lladdr 02:00:00:00:02:02 dev d1
            neigh add fd01::2 lladdr 02:00:00:00:01:02 dev d0
            neigh add fd02::2 lladdr 02:00:00:00:02:02 dev d1
            sysctl net.ipv4.ip_forward=1
            sysctl net.ipv6.conf.all.forwarding=1
            sysctl net.netfilter.nf_conntrack_tcp_loose=0
            """;

    static String rules(String chain, String target) {
        return "*raw\n:PREROUTING ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n"
                + "-A PREROUTING -p tcp -m tcp --dport 80 --tcp-flags FIN,SYN,RST,ACK SYN -j CT --notrack\n"
                + "COMMIT\n*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n"
                + "-A " + chain + " -p tcp -m tcp --dport 80 -m conntrack --ctstate INVALID,UNTRACKED -j SYNPROXY "
                + target + "\n"
                + "-A " + chain + " -m conntrack --ctstate INVALID -j DROP\nCOMMIT\n";
    }

    static final String DEFAULT_TARGET = "--sack-perm --timestamp --wscale 7 --mss 1460";
    // MSS 1460, SACK permitted, timestamp 5000/0, NOP, window scale 7: what Linux's client sends
    static final String CLIENT_OPTIONS = "020405b4 0402 080a0000138800000000 01030307";

    final Host host;
    final Datapath dp;
    final Conntrack conntrack;
    final List<String> out = new ArrayList<>();
    final List<TcpSegment> sent = new ArrayList<>();
    long now = 1_000_000_000_000L;

    SynproxyDatapathTest() throws Exception {
        host = HostFile.parseRunning("dut", HOST);
        dp = new Datapath(host, new PacketSink() {
            @Override
            public void transmit(String ifname, MemorySegment frame) {
                TcpSegment t = TcpSegment.parse(frame.toArray(ValueLayout.JAVA_BYTE));
                if (t != null) {
                    out.add(ifname);
                    sent.add(t);
                }
            }

            @Override
            public void deliverLocal(String ifname, MemorySegment ipPacket) {
                out.add("local");
            }
        });
        dp.random(new SplittableRandom(7));
        conntrack = new Conntrack(host);
        dp.module(new ConntrackModule(conntrack));
        dp.module(new SynproxyModule());
    }

    void load(Family f, String rules) throws Exception {
        dp.rules(f, SaveFiles.read(f, rules));
    }

    Synproxy proxy() {
        return Synproxy.of(host);
    }

    void fromClient(TcpSegment t) {
        now += 1_000_000L;
        dp.receive("d0", MemorySegment.ofArray(t.frame(DC_MAC, C_MAC)), true, now, Trace.NONE);
    }

    void fromServer(TcpSegment t) {
        now += 1_000_000L;
        dp.receive("d1", MemorySegment.ofArray(t.frame(DS_MAC, S_MAC)), true, now, Trace.NONE);
    }

    /** What the router sent since the last call, as "iface segment". */
    List<TcpSegment> take(String... ifaces) {
        assertThat(out).containsExactly(ifaces);
        List<TcpSegment> r = new ArrayList<>(sent);
        out.clear();
        sent.clear();
        return r;
    }

    static TcpSegment client(boolean v6, int seq, int ack, int flags, int window, String options) {
        return new TcpSegment(v6, v6 ? CLIENT6 : CLIENT, v6 ? SERVER6 : SERVER, 64, 1, true, 40000, 80, seq, ack,
                flags, window, hex(options), new byte[0]);
    }

    static TcpSegment server(boolean v6, int seq, int ack, int flags, int window, String options) {
        return new TcpSegment(v6, v6 ? SERVER6 : SERVER, v6 ? CLIENT6 : CLIENT, 64, 0, true, 80, 40000, seq, ack,
                flags, window, hex(options), new byte[0]);
    }

    static String ts(int val, int ecr) {
        return String.format("0101080a%08x%08x", val, ecr);
    }

    @ParameterizedTest(name = "{0} / {1}: SYN-ACK options {2}, ts bits {3}, server SYN options {4}")
    @CsvSource(delimiter = '|', value = {
        // target options | client SYN options | SYN-ACK options (ts zeroed) | low 6 ts bits | MSS to the server
        "--sack-perm --timestamp --wscale 7 --mss 1460 | 020405b4 0402 080a0000138800000000 01030307 | 020405b4 0402080a0000000000000000 01030307 | 17 | 020405b4 0402080a0000000000000000 01030307",
        "--timestamp --wscale 9 --mss 1400 | 020405b4 0402 080a0000138800000000 01030307 | 02040578 0101080a0000000000000000 01030309 | 07 | 020405b4 0101080a0000000000000000 01030307",
        "--sack-perm --timestamp --mss 1460 | 02040218 0402 080a0000138800000000 | 020405b4 0402080a0000000000000000 | 1f | 02040218 0402080a0000000000000000",
        "--sack-perm --wscale 7 --mss 1460 | 020405b4 0402 080a0000138800000000 01030307 | 020405b4 | -- | 020405b4",
        "--sack-perm --timestamp --wscale 7 | 020405b4 0402 080a0000138800000000 01030307 | 0402080a0000000000000000 01030307 | 17 | 020405b4 0402080a0000000000000000 01030307",
        "--sack-perm --timestamp --wscale 7 --mss 1460 | 0101080a0000138800000000 | 0101080a0000000000000000 | 0f | 02040218 0101080a0000000000000000",
        "--sack-perm --timestamp --wscale 7 --mss 1460 --ecn | 020405dc 0402 080a0000138800000000 01030302 | 020405b4 0402080a0000000000000000 01030307 | 32 | 020405b4 0402080a0000000000000000 01030302",
    })
    void synGetsACookieSynAckFromTheTargetsAndClientsOptionsAndTheAckRecoversThemForTheServer(String target,
            String clientOptions, String synAckOptions, String tsBits, String serverOptions) throws Exception {
        load(Family.IPV4, rules("FORWARD", target));
        boolean ecn = target.contains("--ecn");
        fromClient(client(false, 1000000, 0, SYN | (ecn ? ECE | CWR : 0), 64240, clientOptions));
        TcpSegment synAck = take("d0").get(0);
        assertThat(synAck.fixedFields()).isEqualTo(server(false, 0, 0, SYN | ACK | (ecn ? ECE : 0), 0, "").withOptions(
                hex(synAckOptions)).withSeqAck(0, 0).fixedFields());
        assertThat(synAck.ack()).isEqualTo(1000001);
        int[] ts = synAck.timestamps();
        if (tsBits.equals("--")) {
            assertThat(ts).isNull();
        } else {
            assertThat(ts[0] & 0x3f).as("wscale, SACK and ECN in the timestamp cookie").isEqualTo(
                    Integer.parseInt(tsBits, 16));
            assertThat(ts[1]).isEqualTo(5000);
        }
        assertThat(proxy().synReceived()).isEqualTo(1);

        String ackOptions = ts == null ? "" : ts(5001, ts[0]);
        fromClient(client(false, 1000001, synAck.seq() + 1, ACK, 502, ackOptions));
        TcpSegment syn = take("d1").get(0);
        assertThat(syn.fixedFields()).isEqualTo(client(false, 0, 0, SYN | (ecn ? ECE | CWR : 0), 502, "")
                .withOptions(hex(serverOptions)).fixedFields().replace("id 1", "id 0"));
        assertThat(syn.seq()).isEqualTo(1000000);
        assertThat(syn.ack()).as("the proxy's ISN relayed in the ack field").isEqualTo(synAck.seq());
        if (ts != null) {
            assertThat(syn.timestamps()).containsExactly(5001, ts[0]);
        }
        assertThat(proxy().cookieValid()).isEqualTo(1);
    }

    @Test
    void theServersSynAckIsAnsweredOnBothSidesAndTheSplicedConnectionIsAdjustedBothWays() throws Exception {
        load(Family.IPV4, rules("FORWARD", DEFAULT_TARGET));
        handshake(false);
    }

    @Test
    void theSameHandshakeWorksForIpv6() throws Exception {
        load(Family.IPV6, rules("FORWARD", DEFAULT_TARGET));
        handshake(true);
    }

    private void handshake(boolean v6) {
        fromClient(client(v6, 1000000, 0, SYN, 64240, CLIENT_OPTIONS));
        TcpSegment synAck = take("d0").get(0);
        int cookie = synAck.seq();
        int its = synAck.timestamps()[0];
        fromClient(client(v6, 1000001, cookie + 1, ACK, 502, ts(5001, its)));
        TcpSegment syn = take("d1").get(0);
        assertThat(syn.timestamps()).containsExactly(5001, its);

        int serverIsn = 0x55667788;
        int serverTs = 0x40000000;
        fromServer(server(v6, serverIsn, 1000001, SYN | ACK, 65160, "020405b4 0402080a" + String.format("%08x%08x",
                serverTs, 5001) + " 0103030a"));
        List<TcpSegment> answers = take("d1", "d0");
        TcpSegment toServer = answers.get(0);
        TcpSegment toClient = answers.get(1);
        int tsoff = serverTs - its;
        // the ACK the client would have sent: its window as conntrack saw it (the SYN's 502), timestamps echoed;
        // Linux moves its echo by tsoff on the way out, as for any packet toward the server
        assertThat(toServer.fixedFields()).isEqualTo(client(v6, 0, 0, ACK, 502, "0101080a0000000000000000")
                .fixedFields().replace("id 1", "id 0"));
        assertThat(toServer.seq()).isEqualTo(1000001);
        assertThat(toServer.ack()).isEqualTo(serverIsn + 1);
        assertThat(toServer.timestamps()).containsExactly(5001, serverTs + tsoff);
        // the window update to the client: the server's window in its scale, the proxy's sequence space
        assertThat(toClient.fixedFields()).isEqualTo(server(v6, 0, 0, ACK, 65160 >> 10, "0101080a0000000000000000")
                .fixedFields());
        assertThat(toClient.seq()).isEqualTo(cookie + 1);
        assertThat(toClient.ack()).isEqualTo(1000001);
        assertThat(toClient.timestamps()).containsExactly(its, 5001);

        // data both ways: sequence numbers and timestamps moved between the proxy's and the server's spaces
        fromClient(client(v6, 1000001, cookie + 1, ACK | PSH, 502, ts(5002, its)).withPayload("hello"));
        TcpSegment data = take("d1").get(0);
        assertThat(data.seq()).isEqualTo(1000001);
        assertThat(data.ack()).isEqualTo(serverIsn + 1);
        assertThat(data.timestamps()).containsExactly(5002, serverTs);
        assertThat(hex(data.payload())).isEqualTo(hex("hello".getBytes()));
        assertThat(TcpSegment.parse(data.frame(0, 0)).datagram()).isEqualTo(data.datagram());

        fromServer(server(v6, serverIsn + 1, 1000006, ACK | PSH, 64, ts(serverTs + 7, 5002)).withPayload("world"));
        TcpSegment reply = take("d0").get(0);
        assertThat(reply.seq()).isEqualTo(cookie + 1);
        assertThat(reply.ack()).isEqualTo(1000006);
        assertThat(reply.timestamps()).containsExactly(its + 7, 5002);
        assertThat(reply.datagram()).as("checksums kept valid").isEqualTo(reply.withOptions(reply.options())
                .datagram());

        assertThat(conntrack.list(v6 ? Family.IPV6 : Family.IPV4, now)).contains(" ESTABLISHED src=")
                .contains("[ASSURED]");
        assertThat(proxy().procStat()).isEqualTo(
                "entries\t\tsyn_received\tcookie_invalid\tcookie_valid\tcookie_retrans\tconn_reopened\n"
                        + "00000000\t00000001\t00000000\t00000001\t00000000\t00000000\n");
    }

    @Test
    void anAckWithoutAValidCookieIsDroppedAndCounted() throws Exception {
        load(Family.IPV4, rules("FORWARD", DEFAULT_TARGET));
        fromClient(client(false, 1000000, 0, SYN, 64240, CLIENT_OPTIONS));
        int cookie = take("d0").get(0).seq();
        // one more decodes to MSS index 4, past the table; a counter 3 minutes ahead is not this minute's
        fromClient(client(false, 1000001, cookie + 2, ACK, 502, ""));
        fromClient(client(false, 1000001, cookie + 1 + (3 << 24), ACK, 502, ""));
        take();
        assertThat(proxy().cookieInvalid()).isEqualTo(2);
        assertThat(proxy().cookieValid()).isZero();
    }

    @Test
    void aCookieIsValidInTheMinuteItWasMadeAndTheNextOnly() throws Exception {
        load(Family.IPV4, rules("FORWARD", DEFAULT_TARGET));
        fromClient(client(false, 1000000, 0, SYN, 64240, CLIENT_OPTIONS));
        int cookie = take("d0").get(0).seq();
        now += 121_000_000_000L;
        fromClient(client(false, 1000001, cookie + 1, ACK, 502, ""));
        take();
        assertThat(proxy().cookieInvalid()).isEqualTo(1);
    }

    @Test
    void aRetransmittedSynGetsTheSameCookieAndEachIsCounted() throws Exception {
        load(Family.IPV4, rules("FORWARD", DEFAULT_TARGET));
        fromClient(client(false, 1000000, 0, SYN, 64240, "020405b4"));
        fromClient(client(false, 1000000, 0, SYN, 64240, "020405b4"));
        List<TcpSegment> two = take("d0", "d0");
        assertThat(two.get(1).seq()).isEqualTo(two.get(0).seq());
        assertThat(proxy().synReceived()).isEqualTo(2);
    }

    @Test
    void theServersResetInSynSentGoesBackToTheClientInTheProxysSequenceSpace() throws Exception {
        load(Family.IPV4, rules("FORWARD", DEFAULT_TARGET));
        fromClient(client(false, 1000000, 0, SYN, 64240, "020405b4"));
        int cookie = take("d0").get(0).seq();
        fromClient(client(false, 1000001, cookie + 1, ACK, 502, ""));
        take("d1");
        fromServer(server(false, 0, 1000001, RST | ACK, 0, ""));
        TcpSegment rst = take("d0").get(0);
        assertThat(rst.flags()).isEqualTo(RST | ACK);
        assertThat(rst.seq()).as("isn - seq + 1 added").isEqualTo(cookie + 1);
    }

    @Test
    void onInputTheProxysSynReachesTheLocalServerThroughLoopback() throws Exception {
        load(Family.IPV4, rules("INPUT", DEFAULT_TARGET));
        TcpSegment syn = new TcpSegment(false, CLIENT, new byte[] {10, 0, 1, 1}, 64, 1, true, 40000, 80, 1000000, 0,
                SYN, 64240, hex(CLIENT_OPTIONS), new byte[0]);
        fromClient(syn);
        TcpSegment synAck = take("d0").get(0);
        fromClient(syn.withSeqAck(1000001, synAck.seq() + 1).withFlags(ACK).withOptions(hex(ts(5001,
                synAck.timestamps()[0]))));
        assertThat(out).containsExactly("local");
        assertThat(proxy().cookieValid()).isEqualTo(1);
    }
}
