package org.jnetfilter.core.host;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.jnetfilter.core.rules.Family;
import org.junit.jupiter.api.Test;

class HostRoutingTest {
    private static final Family V4 = Family.IPV4;
    private static final Family V6 = Family.IPV6;

    private static IpAddress ip(String s) {
        return IpAddress.parse(s);
    }

    private static Host host(String text) throws HostFileException {
        return HostFile.parse("test", text);
    }

    /** eth0 10.0.1.1/24 and 2001:db8:1::1/64, eth1 10.0.2.1/24 towards a default gateway 10.0.2.254. */
    private static Host router() throws HostFileException {
        return host("""
                link add eth0 address 02:00:00:00:00:01
                link add eth1 address 02:00:00:00:00:02
                link set eth0 up
                link set eth1 up
                addr add 10.0.1.1/24 dev eth0
                addr add 10.0.2.1/24 dev eth1
                -6 addr add 2001:db8:1::1/64 dev eth0
                -6 addr add 2001:db8:2::1/64 dev eth1
                route add default via 10.0.2.254 dev eth1
                -6 route add default via 2001:db8:2::fe dev eth1
                """);
    }

    @Test
    void aNewHostHasLoopbackAsLinuxCreatesIt() {
        Host h = new Host();
        Link lo = h.link("lo");
        assertThat(lo.index()).isEqualTo(1);
        assertThat(lo.up()).isTrue();
        assertThat(lo.mtu()).isEqualTo(65536);
        assertThat(lo.addresses()).extracting(Object::toString).containsExactly("127.0.0.1/8", "::1/128");
        assertThat(h.rules(V4)).extracting(Object::toString).containsExactly(
                "0:\tfrom all lookup local", "32766:\tfrom all lookup main", "32767:\tfrom all lookup default");
        assertThat(h.rules(V6)).extracting(Object::toString).containsExactly(
                "0:\tfrom all lookup local", "32766:\tfrom all lookup main");
    }

    @Test
    void localTableGetsLocalAndBroadcastRoutesFromAddressesButNoNetworkBroadcast() throws Exception {
        Host h = router();
        assertThat(h.routes(V4, Host.TABLE_LOCAL)).extracting(Route::text).containsExactlyInAnyOrder(
                "local 127.0.0.1 dev lo table local src 127.0.0.1",
                "local 127.0.0.0/8 dev lo table local src 127.0.0.1",
                "broadcast 127.255.255.255 dev lo table local src 127.0.0.1",
                "local 10.0.1.1 dev eth0 table local src 10.0.1.1",
                "broadcast 10.0.1.255 dev eth0 table local src 10.0.1.1",
                "local 10.0.2.1 dev eth1 table local src 10.0.2.1",
                "broadcast 10.0.2.255 dev eth1 table local src 10.0.2.1");
        assertThat(h.routes(V4, Host.TABLE_MAIN)).extracting(Route::text).containsExactlyInAnyOrder(
                "10.0.1.0/24 dev eth0 src 10.0.1.1", "10.0.2.0/24 dev eth1 src 10.0.2.1",
                "default via 10.0.2.254 dev eth1");
    }

    @Test
    void ipv6TablesGetLocalLinkLocalAndMulticastRoutes() throws Exception {
        Host h = router();
        assertThat(h.routes(V6, Host.TABLE_LOCAL)).extracting(Route::text).containsExactlyInAnyOrder(
                "local ::1 dev lo table local",
                "local 2001:db8:1::1 dev eth0 table local", "local fe80::ff:fe00:1 dev eth0 table local",
                "multicast ff00::/8 dev eth0 table local metric 256",
                "local 2001:db8:2::1 dev eth1 table local", "local fe80::ff:fe00:2 dev eth1 table local",
                "multicast ff00::/8 dev eth1 table local metric 256");
        h.sysctl("net.ipv6.conf.all.forwarding", "1");
        assertThat(h.routes(V6, Host.TABLE_LOCAL)).extracting(Route::text).contains(
                "anycast 2001:db8:1:: dev eth0 table local", "anycast fe80:: dev eth0 table local");
    }

    @Test
    void aDownInterfaceKeepsOnlyTheLocalRoutesOfItsAddresses() throws Exception {
        Host h = host("""
                link add eth0
                addr add 10.0.1.1/24 dev eth0
                """);
        assertThat(h.routes(V4, Host.TABLE_LOCAL)).extracting(Route::text)
                .contains("local 10.0.1.1 dev eth0 table local src 10.0.1.1")
                .noneMatch(t -> t.contains("10.0.1.255"));
        assertThat(h.routes(V4, Host.TABLE_MAIN)).isEmpty();
        assertThat(h.lookup(V4, ip("10.0.1.7"), null, 0, null, null).errno()).isEqualTo(RouteResult.ENETUNREACH);
    }

    @Test
    void linkDownDeletesTheRoutesThroughIt() throws Exception {
        Host h = router();
        h.setUp("eth1", false);
        assertThat(h.routes(V4, Host.TABLE_MAIN)).extracting(Route::text).containsExactly(
                "10.0.1.0/24 dev eth0 src 10.0.1.1");
        h.setUp("eth1", true);
        assertThat(h.lookup(V4, ip("8.8.8.8"), null, 0, null, null).errno()).isEqualTo(RouteResult.ENETUNREACH);
    }

    @Test
    void outputToAConnectedSubnetLeavesByItsDeviceWithItsAddressAsSource() throws Exception {
        RouteResult r = router().lookup(V4, ip("10.0.1.9"), null, 0, null, null);
        assertThat(r).hasToString("unicast dev eth0 src 10.0.1.1");
        assertThat(r.table()).isEqualTo(Host.TABLE_MAIN);
    }

    @Test
    void outputElsewhereGoesViaTheDefaultGateway() throws Exception {
        assertThat(router().lookup(V4, ip("8.8.8.8"), null, 0, null, null))
                .hasToString("unicast via 10.0.2.254 dev eth1 src 10.0.2.1");
        assertThat(router().lookup(V6, ip("2606:4700::1"), null, 0, null, null))
                .hasToString("unicast via 2001:db8:2::fe dev eth1 src 2001:db8:2::1");
    }

    @Test
    void ownAddressesAreDeliveredLocallyThroughLoopback() throws Exception {
        Host h = router();
        assertThat(h.lookup(V4, ip("10.0.1.1"), null, 0, null, null)).hasToString("local dev lo src 10.0.1.1");
        assertThat(h.lookup(V4, ip("127.3.4.5"), null, 0, null, null)).hasToString("local dev lo src 127.0.0.1");
        assertThat(h.lookup(V6, ip("2001:db8:2::1"), null, 0, null, null))
                .hasToString("local dev lo src 2001:db8:2::1");
    }

    @Test
    void subnetBroadcastAndMulticastLeaveWithoutGateway() throws Exception {
        Host h = router();
        assertThat(h.lookup(V4, ip("10.0.1.255"), null, 0, null, null)).hasToString("broadcast dev eth0 src 10.0.1.1");
        assertThat(h.lookup(V4, ip("224.0.0.1"), null, 0, null, null)).hasToString("multicast dev eth1 src 10.0.2.1");
        assertThat(h.lookup(V4, ip("255.255.255.255"), null, 0, null, null))
                .hasToString("broadcast dev eth1 src 10.0.2.1");
    }

    @Test
    void longestPrefixWinsThenLowestMetric() throws Exception {
        Host h = router();
        h.addRoute(new Route(Host.TABLE_MAIN, RouteType.UNICAST, ip("10.5.0.0").net(16), 0, ip("10.0.1.254"), null,
                null, false));
        h.addRoute(new Route(Host.TABLE_MAIN, RouteType.UNICAST, ip("10.5.5.0").net(24), 20, ip("10.0.1.253"), null,
                null, false));
        h.addRoute(new Route(Host.TABLE_MAIN, RouteType.UNICAST, ip("10.5.5.0").net(24), 10, ip("10.0.2.253"), null,
                null, false));
        assertThat(h.lookup(V4, ip("10.5.1.1"), null, 0, null, null).gateway()).isEqualTo(ip("10.0.1.254"));
        assertThat(h.lookup(V4, ip("10.5.5.1"), null, 0, null, null))
                .hasToString("unicast via 10.0.2.253 dev eth1 src 10.0.2.1");
    }

    @Test
    void errorRoutesEndTheLookupWithTheKernelsErrno() throws Exception {
        Host h = host("""
                route add blackhole 10.9.0.0/16
                route add unreachable 10.8.0.0/16
                route add prohibit 10.7.0.0/16
                -6 route add prohibit 2001:dba::/32
                """);
        assertThat(h.lookup(V4, ip("10.9.1.1"), null, 0, null, null).errno()).isEqualTo(RouteResult.EINVAL);
        assertThat(h.lookup(V4, ip("10.8.1.1"), null, 0, null, null).errno()).isEqualTo(RouteResult.EHOSTUNREACH);
        assertThat(h.lookup(V4, ip("10.7.1.1"), null, 0, null, null).errno()).isEqualTo(RouteResult.EACCES);
        assertThat(h.lookup(V4, ip("10.6.1.1"), null, 0, null, null).errno()).isEqualTo(RouteResult.ENETUNREACH);
        assertThat(h.lookup(V6, ip("2001:dba::1"), null, 0, null, null).type()).isEqualTo(RouteType.PROHIBIT);
        assertThat(h.routes(V6, Host.TABLE_MAIN)).extracting(Route::text)
                .containsExactly("prohibit 2001:dba::/32 dev lo metric 1024");
    }

    @Test
    void fwmarkRuleSendsMarkedPacketsToItsTable() throws Exception {
        Host h = host("""
                link add eth0
                link add eth1
                link set eth0 up
                link set eth1 up
                addr add 10.0.1.1/24 dev eth0
                addr add 10.0.2.1/24 dev eth1
                route add default via 10.0.1.254
                route add default via 10.0.2.254 table 100
                rule add fwmark 0x1/0xff table 100
                """);
        assertThat(h.rules(V4).get(1)).hasToString("32765:\tfrom all fwmark 0x1/0xff lookup 100");
        assertThat(h.lookup(V4, ip("8.8.8.8"), null, 0x0, null, null).dev()).isEqualTo("eth0");
        assertThat(h.lookup(V4, ip("8.8.8.8"), null, 0x101, null, null).dev()).isEqualTo("eth1");
        assertThat(h.lookup(V4, ip("8.8.8.8"), null, 0x102, null, null).dev()).isEqualTo("eth0");
        assertThat(h.lookup(V4, ip("8.8.8.8"), null, 0x101, null, null).table()).isEqualTo(100);
    }

    @Test
    void sourceRuleAndThrowRouteFallBackToMain() throws Exception {
        Host h = router();
        h.addRoute(new Route(100, RouteType.UNICAST, ip("0.0.0.0").net(0), 0, ip("10.0.1.254"), null, null, false));
        h.addRoute(new Route(100, RouteType.THROW, ip("192.168.0.0").net(16), 0, null, null, null, false));
        h.addRule(new PolicyRule(V4, 100, ip("10.0.1.0").net(24), ip("0.0.0.0").net(0), 0, 0, null, null,
                RouteType.UNICAST, 100), true);
        assertThat(h.lookup(V4, ip("8.8.8.8"), ip("10.0.1.1"), 0, null, null).gateway()).isEqualTo(ip("10.0.1.254"));
        assertThat(h.lookup(V4, ip("8.8.8.8"), ip("10.0.2.1"), 0, null, null).gateway()).isEqualTo(ip("10.0.2.254"));
        assertThat(h.lookup(V4, ip("192.168.1.1"), ip("10.0.1.1"), 0, null, null).gateway())
                .isEqualTo(ip("10.0.2.254"));
    }

    @Test
    void ruleActionsRejectWithoutATable() throws Exception {
        Host h = host("rule add to 10.66.0.0/16 prohibit priority 10");
        assertThat(h.lookup(V4, ip("10.66.0.1"), null, 0, null, null).errno()).isEqualTo(RouteResult.EACCES);
    }

    @Test
    void iifRulesSeeLocallyGeneratedTrafficAsComingFromLoopback() throws Exception {
        Host h = host("rule add iif lo blackhole priority 5");
        assertThat(h.lookup(V4, ip("8.8.8.8"), null, 0, null, null).type()).isEqualTo(RouteType.BLACKHOLE);
        assertThat(h.lookup(V4, ip("127.0.0.1"), null, 0, null, null).type())
                .as("rule 0 (local) comes first").isEqualTo(RouteType.LOCAL);
    }

    @Test
    void inputToAnotherHostNeedsForwarding() throws Exception {
        Host h = router();
        RouteResult off = h.lookup(V4, ip("8.8.8.8"), ip("10.0.1.9"), 0, "eth0", null);
        assertThat(off.errno()).isEqualTo(RouteResult.EHOSTUNREACH);
        h.sysctl("net.ipv4.ip_forward", "1");
        assertThat(h.lookup(V4, ip("8.8.8.8"), ip("10.0.1.9"), 0, "eth0", null))
                .hasToString("unicast via 10.0.2.254 dev eth1 src 10.0.1.9");
        assertThat(h.lookup(V4, ip("10.0.2.1"), ip("10.0.1.9"), 0, "eth0", null).type()).isEqualTo(RouteType.LOCAL);
    }

    @Test
    void aGatewayMustBeOnALinkThatIsUp() {
        Host h = new Host();
        assertThatThrownBy(() -> h.addRoute(new Route(Host.TABLE_MAIN, RouteType.UNICAST, ip("0.0.0.0").net(0), 0,
                ip("10.0.2.254"), null, null, false))).hasMessageContaining("Nexthop has invalid gateway");
    }

    @Test
    void ipv4AddressTypesAreWhatInetDevAddrTypeSays() throws Exception {
        Host h = router();
        h.addRoute(new Route(Host.TABLE_MAIN, RouteType.BLACKHOLE, ip("10.9.0.0").net(16), 0, null, null, null,
                false));
        assertThat(h.addressType(ip("10.0.1.1"), null)).isEqualTo(RouteType.LOCAL);
        assertThat(h.addressType(ip("10.0.1.1"), "eth0")).isEqualTo(RouteType.LOCAL);
        assertThat(h.addressType(ip("10.0.1.1"), "eth1")).isEqualTo(RouteType.UNICAST);
        assertThat(h.addressType(ip("127.0.0.5"), null)).isEqualTo(RouteType.LOCAL);
        assertThat(h.addressType(ip("10.0.1.255"), null)).isEqualTo(RouteType.BROADCAST);
        assertThat(h.addressType(ip("10.0.1.0"), null)).isEqualTo(RouteType.UNICAST);
        assertThat(h.addressType(ip("255.255.255.255"), null)).isEqualTo(RouteType.BROADCAST);
        assertThat(h.addressType(ip("0.0.0.0"), null)).isEqualTo(RouteType.BROADCAST);
        assertThat(h.addressType(ip("239.1.2.3"), null)).isEqualTo(RouteType.MULTICAST);
        // Only the local table counts: a blackhole route in main does not make an address BLACKHOLE.
        assertThat(h.addressType(ip("10.9.1.1"), null)).isEqualTo(RouteType.UNICAST);
    }

    @Test
    void ipv6AddressTypesComeFromARouteLookup() throws Exception {
        Host h = router();
        h.addRoute(new Route(Host.TABLE_MAIN, RouteType.UNREACHABLE, ip("2001:dbf::").net(32), 1024, null, null,
                null, false));
        assertThat(h.addressType(ip("2001:db8:1::1"), null)).isEqualTo(RouteType.LOCAL);
        assertThat(h.addressType(ip("::1"), null)).isEqualTo(RouteType.LOCAL);
        assertThat(h.addressType(ip("::"), null)).isEqualTo(RouteType.UNSPEC);
        assertThat(h.addressType(ip("ff02::1"), null)).isEqualTo(RouteType.MULTICAST);
        assertThat(h.addressType(ip("2001:db8:1::99"), null)).isEqualTo(RouteType.UNICAST);
        assertThat(h.addressType(ip("2001:dbf::1"), null)).isEqualTo(RouteType.UNREACHABLE);
        h.sysctl("net.ipv6.conf.all.forwarding", "1");
        assertThat(h.addressType(ip("2001:db8:1::"), null)).isEqualTo(RouteType.ANYCAST);
    }

    @Test
    void linkLocalAddressIsTheEui64OfTheMac() {
        assertThat(Host.linkLocal(0x020000000001L).text()).isEqualTo("fe80::ff:fe00:1");
        assertThat(Host.linkLocal(0x5254001234_56L).text()).isEqualTo("fe80::5054:ff:fe12:3456");
    }

    @Test
    void aNextHopWithoutNeighbourEntryGetsAMadeUpMac() throws Exception {
        Host h = host("""
                link add eth1
                link set eth1 up
                addr add 10.0.2.1/24 dev eth1
                neigh add 10.0.2.2 lladdr 02:00:00:00:02:02 dev eth1
                """);
        assertThat(h.neighbourMac(ip("10.0.2.2"))).isEqualTo(0x020000000202L);
        assertThat(h.hasNeighbour(ip("10.0.2.3"))).isFalse();
        assertThat(Link.macText(h.neighbourMac(ip("10.0.2.3")))).isEqualTo("02:6a:6e:00:02:03");
    }

    @Test
    void sysctlsStartAtLinuxDefaultsAndInterfacesInheritConfDefault() throws Exception {
        Host h = host("""
                sysctl net.ipv4.conf.default.rp_filter=2
                link add eth0
                """);
        assertThat(h.ipv4Forwarding()).isFalse();
        assertThat(h.sysctl("net.ipv4.conf.eth0.rp_filter")).isEqualTo("2");
        assertThat(h.sysctl("net.ipv4.conf.lo.rp_filter")).isEqualTo("0");
        assertThat(h.sendRedirects("eth0")).isTrue();
        assertThat(h.acceptLocal("eth0")).isFalse();
        assertThat(h.sysctlLong("net.netfilter.nf_conntrack_tcp_timeout_established")).isEqualTo(432000);
        assertThat(h.sysctlLong("net.netfilter.nf_conntrack_udp_timeout_stream")).isEqualTo(120);
        h.sysctl("net.ipv4.conf.all.rp_filter", "1");
        assertThat(h.rpFilter("eth0")).isEqualTo(2);
        assertThat(h.rpFilter("lo")).isEqualTo(1);
        h.sysctl("net.ipv4.ip_forward", "1");
        assertThat(h.sysctl("net.ipv4.conf.eth0.forwarding")).isEqualTo("1");
    }

    @Test
    void goingDownDropsTheInterfacesIpv6AddressesButKeepsItsIpv4Ones() throws Exception {
        Host h = router();
        h.setUp("eth0", false);
        assertThat(h.link("eth0").addresses()).extracting(Object::toString).containsExactly("10.0.1.1/24");
        h.sysctl("net.ipv6.conf.all.keep_addr_on_down", "1");
        h.setUp("eth1", false);
        assertThat(h.link("eth1").addresses()).extracting(Object::toString)
                .containsExactly("10.0.2.1/24", "2001:db8:2::1/64");
    }

    @Test
    void anOutputLookupThroughAGivenDeviceTreatsAFailureAsOnLink() throws Exception {
        Host h = router();
        h.addRoute(new Route(Host.TABLE_MAIN, RouteType.BLACKHOLE, ip("10.9.0.0").net(16), 0, null, null, null,
                false));
        assertThat(h.lookup(V4, ip("10.9.1.1"), null, 0, null, "eth0")).hasToString("unicast dev eth0 src 10.0.1.1");
        assertThat(h.lookup(V4, ip("10.0.1.1"), null, 0, null, "eth1"))
                .as("the local route belongs to eth0").hasToString("unicast via 10.0.2.254 dev eth1 src 10.0.2.1");
        assertThat(h.lookup(V4, ip("255.255.255.255"), null, 0, null, "eth0"))
                .hasToString("broadcast dev eth0 src 10.0.1.1");
    }

    @Test
    void strictRpFilterRefusesASourceRoutedOutAnotherInterfaceAndLooseOneWithoutRoute() throws Exception {
        Host h = host("""
                link add eth0
                link add eth1
                link set eth0 up
                link set eth1 up
                addr add 10.0.1.1/24 dev eth0
                addr add 10.0.2.1/24 dev eth1
                route add 10.50.0.0/16 via 10.0.2.254
                sysctl net.ipv4.ip_forward=1
                """);
        RouteResult spoofed = h.lookup(V4, ip("10.0.2.9"), ip("10.50.0.1"), 0, "eth0", null);
        assertThat(spoofed.isError()).as("rp_filter off").isFalse();
        h.sysctl("net.ipv4.conf.eth0.rp_filter", "1");
        assertThat(h.lookup(V4, ip("10.0.2.9"), ip("10.50.0.1"), 0, "eth0", null).errno())
                .isEqualTo(RouteResult.EINVAL);
        assertThat(h.lookup(V4, ip("10.0.2.9"), ip("10.0.1.9"), 0, "eth0", null).isError()).isFalse();
        h.sysctl("net.ipv4.conf.eth0.rp_filter", "2");
        assertThat(h.lookup(V4, ip("10.0.2.9"), ip("10.50.0.1"), 0, "eth0", null).isError()).isFalse();
        assertThat(h.lookup(V4, ip("10.0.2.9"), ip("10.60.0.1"), 0, "eth0", null).errno())
                .as("no route back at all").isEqualTo(RouteResult.EINVAL);
    }

    @Test
    void aPacketFromOneOfOurOwnAddressesIsMartianUnlessAcceptLocal() throws Exception {
        Host h = router();
        assertThat(h.lookup(V4, ip("10.0.2.1"), ip("10.0.1.1"), 0, "eth0", null).errno()).isEqualTo(RouteResult.EINVAL);
        h.sysctl("net.ipv4.conf.eth0.accept_local", "1");
        assertThat(h.lookup(V4, ip("10.0.2.1"), ip("10.0.1.1"), 0, "eth0", null).type()).isEqualTo(RouteType.LOCAL);
        assertThat(h.lookup(V4, ip("127.0.0.1"), ip("10.0.1.9"), 0, "eth0", null).errno())
                .as("martian destination").isEqualTo(RouteResult.EINVAL);
    }
}
