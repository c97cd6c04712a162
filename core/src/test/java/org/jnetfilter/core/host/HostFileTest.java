package org.jnetfilter.core.host;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import org.jnetfilter.core.rules.Family;
import org.junit.jupiter.api.Test;

class HostFileTest {

    private static HostFileException failure(String text) {
        return catchThrowableOfType(HostFileException.class, () -> HostFile.parse("host.txt", text));
    }

    @Test
    void aModprobeLineSetsTheSipHelpersParametersAndABadValueNamesItsLine() throws Exception {
        Host h = HostFile.parse("host.txt", """
                modprobe nf_conntrack_sip sip_direct_media=0 sip_external_media=1 sip_timeout=600
                modprobe nf_conntrack_sip sip_direct_signalling=0 nonsense=1
                """);
        assertThat(h.moduleParameters().sipDirectMedia()).isFalse();
        assertThat(h.moduleParameters().sipExternalMedia()).isTrue();
        assertThat(h.moduleParameters().sipDirectSignalling()).isFalse();
        assertThat(h.moduleParameters().sipTimeout()).isEqualTo(600);
        assertThat(h.notices()).containsExactly("nf_conntrack_sip: unknown parameter 'nonsense' ignored");
        HostFileException e = failure("# parameters\nmodprobe nf_conntrack_sip sip_timeout=ten\n");
        assertThat(e.getMessage()).contains("host.txt").contains("2").contains(
                "modprobe: ERROR: could not insert 'nf_conntrack_sip': Invalid argument (nf_conntrack_sip: `ten' "
                        + "invalid for parameter `sip_timeout')");
    }

    @Test
    void aRunningHostFileHasItsLinksUpSoTheIssuesExampleRoutes() throws Exception {
        String text = """
                link add eth0 address 02:00:00:00:00:01
                addr add 10.0.1.1/24 dev eth0
                link add eth1
                addr add 10.0.2.1/24 dev eth1
                route add default via 10.0.2.254 dev eth1
                link add eth2
                link set eth2 down
                """;
        Host h = HostFile.parseRunning("host", text);
        assertThat(h.link("eth0").up()).isTrue();
        assertThat(h.link("eth2").up()).isFalse();
        assertThat(h.lookup(Family.IPV4, IpAddress.parse("192.0.2.9"), null, 0, null, null).toString()).contains("eth1");
        // iproute2's reading: a new link is down, so the route through it is refused
        assertThatThrownBy(() -> HostFile.parse("host", text)).hasMessageContaining("Nexthop has invalid gateway");
    }

    @Test
    void anAddressKeepsTheBroadcastAddressItWasGivenAndOnlyAPrimaryOneCountsForTheHelpers() throws Exception {
        Host h = HostFile.parseRunning("host", """
                link add eth0
                addr add 10.0.1.1/24 dev eth0
                addr add 10.0.2.1/24 brd + dev eth0
                addr add 10.0.3.1/24 broadcast 10.0.3.127 dev eth0
                addr add 10.0.4.1/24 brd - dev eth0
                addr add 10.0.2.9/24 brd 10.0.2.99 dev eth0
                """);
        assertThat(h.link("eth0").addresses()).extracting(InterfaceAddress::broadcast).containsExactly(null,
                IpAddress.parse("10.0.2.255"), IpAddress.parse("10.0.3.127"), null, IpAddress.parse("10.0.2.99"));
        // iproute2 without brd leaves ifa_broadcast 0; the subnet's broadcast route exists all the same
        assertThat(h.ipv4BroadcastMask("eth0", 0x0A0001FFL)).isZero();
        assertThat(h.ipv4BroadcastMask("eth0", 0x0A0002FFL)).isEqualTo(0xFFFFFF00L);
        assertThat(h.ipv4BroadcastMask("eth0", 0x0A00037FL)).isEqualTo(0xFFFFFF00L);
        assertThat(h.ipv4BroadcastMask("eth0", 0x0A000263L)).as("10.0.2.9 is secondary to 10.0.2.1").isZero();
        assertThat(h.ipv4BroadcastMask("eth1", 0x0A0002FFL)).isZero();
    }

    @Test
    void readsTheIssuesExampleWithCommentsAndBlankLines() throws Exception {
        Host h = HostFile.parse("host.txt", """
                # a two-legged router
                link add eth0 address 02:00:00:00:00:01 mtu 1500
                link add eth1 address 02:00:00:00:00:02   # uplink

                link set eth0 up
                link set eth1 up mtu 9000
                addr add 10.0.1.1/24 dev eth0
                addr add 10.0.2.1/24 dev eth1
                -6 addr add 2001:db8:1::1/64 dev eth0
                route add default via 10.0.2.254 dev eth1 table 100 metric 5 src 10.0.2.1
                route add blackhole 10.9.0.0/16
                -6 route add 2001:db8:99::/48 via 2001:db8:1::fe
                rule add fwmark 0x1/0xff table 100
                rule add from 10.0.0.0/8 table 100 priority 200
                neigh add 10.0.2.2 lladdr 02:00:00:00:02:02 dev eth1
                sysctl net.ipv4.ip_forward=1
                sysctl -w net.ipv4.conf.all.rp_filter = 1
                """);
        assertThat(h.links()).extracting(Link::name, Link::index, Link::mtu, Link::up).containsExactly(
                org.assertj.core.groups.Tuple.tuple("lo", 1, 65536, true),
                org.assertj.core.groups.Tuple.tuple("eth0", 2, 1500, true),
                org.assertj.core.groups.Tuple.tuple("eth1", 3, 9000, true));
        assertThat(Link.macText(h.link("eth1").mac())).isEqualTo("02:00:00:00:00:02");
        assertThat(h.routes(Family.IPV4, 100)).extracting(Route::text)
                .containsExactly("default via 10.0.2.254 dev eth1 table 100 src 10.0.2.1 metric 5");
        assertThat(h.routes(Family.IPV6, Host.TABLE_MAIN)).extracting(Route::text)
                .contains("2001:db8:99::/48 via 2001:db8:1::fe dev eth0 metric 1024");
        assertThat(h.rules(Family.IPV4)).extracting(Object::toString).containsExactly(
                "0:\tfrom all lookup local", "200:\tfrom 10.0.0.0/8 lookup 100",
                "32765:\tfrom all fwmark 0x1/0xff lookup 100",
                "32766:\tfrom all lookup main", "32767:\tfrom all lookup default");
        assertThat(h.ipv4Forwarding()).isTrue();
        assertThat(h.rpFilter("eth0")).isEqualTo(1);
        assertThat(h.lookup(Family.IPV4, IpAddress.parse("1.1.1.1"), null, 1, null, null))
                .hasToString("unicast via 10.0.2.254 dev eth1 src 10.0.2.1");
    }

    @Test
    void rulesWithoutPriorityGoJustBeforeTheFirstNonZeroRule() throws Exception {
        Host h = HostFile.parse("h", """
                rule add fwmark 1 table 10
                rule add fwmark 2 table 20
                """);
        assertThat(h.rules(Family.IPV4)).extracting(PolicyRule::priority).containsExactly(0, 32764, 32765, 32766,
                32767);
    }

    @Test
    void aMalformedLineNamesItsNumberAndTheProblem() {
        HostFileException e = failure("""
                link add eth0
                # comment
                addr add 10.0.1.300/24 dev eth0
                """);
        assertThat(e.line()).isEqualTo(3);
        assertThat(e.problem()).isEqualTo("invalid address `10.0.1.300/24'");
        assertThat(e).hasMessage("host.txt:3: invalid address `10.0.1.300/24' (in `addr add 10.0.1.300/24 dev eth0')");
    }

    @Test
    void everyKindOfMistakeIsACheckedErrorWithItsLine() {
        assertThat(failure("addr add 10.0.0.1/24 dev eth9").problem()).isEqualTo("Cannot find device \"eth9\"");
        assertThat(failure("link add eth0 address 02:00:00:00:01").problem())
                .isEqualTo("invalid MAC address `02:00:00:00:01'");
        assertThat(failure("link add eth0 mtu big").problem()).isEqualTo("invalid mtu `big'");
        assertThat(failure("tunnel add t0").problem()).startsWith("unknown object `tunnel'");
        assertThat(failure("route add 10.0.0.0/8").problem()).isEqualTo("a route needs `via' or `dev'");
        assertThat(failure("route add 10.0.0.1/8 dev lo").problem()).contains("Invalid prefix for given prefix length");
        assertThat(failure("route add default via 10.0.2.254").problem()).contains("Nexthop has invalid gateway");
        assertThat(failure("route add blackhole 10.9.0.0/16 table nine").problem()).isEqualTo("invalid table `nine'");
        assertThat(failure("rule add fwmark 0x1").problem()).startsWith("a rule needs `table N'");
        assertThat(failure("rule add fwmark 0xzz table 5").problem()).isEqualTo("invalid fwmark `0xzz'");
        assertThat(failure("neigh add 10.0.2.2 dev lo").problem()).contains("lladdr");
        assertThat(failure("sysctl net.ipv4.nonsense=1").problem()).contains("No such file or directory");
        assertThat(failure("sysctl net.ipv4.ip_forward=yes").problem()).contains("Invalid argument");
        assertThat(failure("-6 addr add 10.0.0.1/24 dev lo").problem()).isEqualTo("address `10.0.0.1/24' is not IPv6");
        assertThat(failure("link add eth0\nlink add eth0").line()).isEqualTo(2);
        assertThat(failure("route del default").problem()).startsWith("unsupported command `del'");
    }

    @Test
    void theIcmpSendersSysctlsAreSetAndPrintedBackAsLinuxPrintsThem() throws HostFileException {
        // Linux 6.18 in a netns: the ICMPv6 rate mask is a bitmap list, read in any order and printed merged; empty is
        // no type; ip_default_ttl is 1-255; icmp_ratemask is a plain signed int
        Host h = HostFile.parse("h", """
                sysctl net.ipv6.icmp.ratemask=5,1-3
                sysctl -w net.ipv4.icmp_ratemask=-1
                sysctl net.ipv4.icmp_msgs_burst=1000000
                """);
        assertThat(h.sysctl("net.ipv6.icmp.ratemask")).isEqualTo("1-3,5");
        assertThat(h.sysctl("net.ipv4.icmp_ratemask")).isEqualTo("-1");
        assertThat(h.sysctl("net.ipv4.icmp_msgs_burst")).isEqualTo("1000000");
        assertThat(h.sysctl("net.ipv4.icmp_ratelimit")).as("Linux's default").isEqualTo("1000");
        assertThat(HostFile.parse("h", "sysctl net.ipv6.icmp.ratemask=\n").sysctl("net.ipv6.icmp.ratemask")).isEmpty();
        assertThat(failure("sysctl net.ipv4.ip_default_ttl=0").problem()).contains("Invalid argument");
        assertThat(failure("sysctl net.ipv6.icmp.ratemask=0-300").problem()).contains("Invalid argument");
        assertThat(failure("sysctl net.ipv6.icmp.ratemask=abc").problem()).contains("Invalid argument");
        assertThat(failure("sysctl net.ipv4.icmp_msgs_burst=-1").problem()).contains("Invalid argument");
    }

    @Test
    void aFailedReadReturnsNoHost() {
        assertThatThrownBy(() -> HostFile.parse("h", "link add eth0\nlink set eth0 up\nbogus"))
                .isInstanceOf(HostFileException.class).hasMessageContaining("h:3:");
    }
}
