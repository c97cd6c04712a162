package org.jnetfilter.core.bridge;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.stream.Stream;
import org.jnetfilter.core.host.Host;
import org.jnetfilter.core.host.HostFile;
import org.jnetfilter.core.host.Link;
import org.jnetfilter.core.rules.Family;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Bridge port STP states with kernel STP off and group_fwd_mask, as Linux 6.18 showed them in a netns ({@code bridge
 * link set dev X state N}, {@code bridge link show}, {@code ip link set br0 type bridge group_fwd_mask N}; the frames
 * themselves are compared in KernelBridgeDifferentialTest).
 */
class BridgePortStateTest {
    private static final String BRIDGE = """
            link add p1 address 02:00:00:00:00:01
            link add p2 address 02:00:00:00:00:02
            link add br0 type bridge
            link set p1 master br0
            link set p2 master br0
            """;
    private static final long A = 0x0A0000000001L;
    private static final long B = 0x0A0000000002L;
    private static final long LLDP = 0x0180C200000EL;

    /** br0 as the HOST file makes it, then {@code commands}. */
    private record Built(Host host, Bridge bridge) {
        Bridge.Port port(String name) {
            return bridge.port(host.link(name).index());
        }
    }

    private static Built built(String commands) throws Exception {
        Host host = HostFile.parseRunning("host", BRIDGE + commands + "\n");
        return new Built(host, new Bridge(host, host.link("br0"), null));
    }

    static Stream<Arguments> commandsAsLinuxAnsweredThem() {
        return Stream.of(
                Arguments.of("a state by number", "bridge link set dev p1 state 2", "learning"),
                Arguments.of("a state by name", "bridge link set dev p1 state listening", "listening"),
                Arguments.of("disabled", "bridge link set dev p1 state 0", "disabled"),
                Arguments.of("blocking forwards at once: with STP off every port is designated",
                        "bridge link set dev p1 state 4", "forwarding"),
                Arguments.of("the netlink attribute is a byte: 257 is 1", "bridge link set dev p1 state 257", "listening"),
                Arguments.of("ip's bridge_slave form", "link set p1 type bridge_slave state 2", "learning"),
                Arguments.of("a port going down and up forwards again",
                        "bridge link set dev p1 state 2\nlink set p1 down\nlink set p1 up", "forwarding"),
                Arguments.of("so does the bridge going down and up",
                        "bridge link set dev p1 state 1\nlink set br0 down\nlink set br0 up", "forwarding"),
                Arguments.of("a port is disabled while its bridge is down", "link set br0 down", "disabled"),
                Arguments.of("setting up a port that is up changes nothing",
                        "bridge link set dev p1 state 2\nlink set p1 up", "learning"),
                Arguments.of("re-enslaving to the same bridge changes nothing",
                        "bridge link set dev p1 state 2\nlink set p1 master br0", "learning"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("commandsAsLinuxAnsweredThem")
    void thePortStateIsTheOneBridgeLinkShowPrinted(String what, String commands, String shown) throws Exception {
        Host host = HostFile.parseRunning("host", BRIDGE + commands + "\n");
        Link p1 = host.link("p1");
        assertThat(Link.PORT_STATES.get(p1.portState(host.link("br0").up()))).as(what).isEqualTo(shown);
    }

    static Stream<Arguments> refusalsAsIproute2PrintedThem() {
        return Stream.of(
                Arguments.of("bridge link set dev p1 state 5", "RTNETLINK answers: Invalid argument"),
                Arguments.of("bridge link set dev p1 state -1", "Error: invalid STP port state"),
                Arguments.of("bridge link set dev p1 state forward", "Error: invalid STP port state"),
                Arguments.of("bridge link set dev p1 state 0x2", "Error: invalid STP port state"),
                Arguments.of("bridge link set dev br0 state 1", "RTNETLINK answers: Operation not supported"),
                Arguments.of("bridge link set dev lone state 1", "RTNETLINK answers: Operation not supported"),
                Arguments.of("bridge link set dev nosuch state 1", "Cannot find bridge device \"nosuch\""),
                Arguments.of("link set p1 down\nbridge link set dev p1 state 3", "RTNETLINK answers: Network is down"),
                Arguments.of("link set p1 down\nbridge link set dev p1 state 0", "RTNETLINK answers: Network is down"),
                Arguments.of("link set p1 type bridge_slave state learning",
                        "Error: argument \"learning\" is wrong: state is invalid"),
                Arguments.of("link set br0 type bridge group_fwd_mask 1", "RTNETLINK answers: Invalid argument"),
                Arguments.of("link set br0 type bridge group_fwd_mask 4", "RTNETLINK answers: Invalid argument"),
                Arguments.of("link set br0 type bridge group_fwd_mask 0xffff", "RTNETLINK answers: Invalid argument"),
                Arguments.of("link set br0 type bridge group_fwd_mask 0x10000",
                        "Error: argument \"0x10000\" is wrong: invalid group_fwd_mask"),
                Arguments.of("link set br0 type bridge group_fwd_mask abc",
                        "Error: argument \"abc\" is wrong: invalid group_fwd_mask"),
                Arguments.of("link add br1 type bridge group_fwd_mask 2", "RTNETLINK answers: Invalid argument"),
                Arguments.of("link set br0 type bridge nf_call_iptables 256",
                        "Error: argument \"256\" is wrong: invalid nf_call_iptables"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("refusalsAsIproute2PrintedThem")
    void refusesWhatLinuxRefusesWithItsMessage(String commands, String message) {
        assertThatThrownBy(() -> HostFile.parseRunning("host", BRIDGE + "link add lone\n" + commands + "\n"))
                .hasMessageContaining(message);
    }

    @Test
    void groupFwdMaskTakesTheBitsLinuxAllows() throws Exception {
        Host host = HostFile.parseRunning("host", BRIDGE + "link set br0 type bridge group_fwd_mask 0xfff8\n"
                + "link add br1 type bridge group_fwd_mask 0x4000\n");
        assertThat(host.groupFwdMask("br0")).isEqualTo(0xFFF8);
        assertThat(host.groupFwdMask("br1")).isEqualTo(0x4000);
    }

    static Stream<Arguments> nfCallSwitches() {
        return Stream.of(
                Arguments.of("without br_netfilter the bridge's option has nothing to run",
                        "link set br0 type bridge nf_call_iptables 1", false, false),
                Arguments.of("loaded: its switches are on for every bridge", "modprobe br_netfilter", true, true),
                Arguments.of("the switch off, the bridge's own option on",
                        "sysctl net.bridge.bridge-nf-call-iptables=0\nlink set br0 type bridge nf_call_iptables 1",
                        true, false),
                Arguments.of("given when the bridge is made", "sysctl net.bridge.bridge-nf-call-iptables=0\n"
                        + "link add br1 type bridge nf_call_ip6tables 1 nf_call_iptables 0\n"
                        + "link set br0 type bridge nf_call_iptables 1\nlink set br0 type bridge nf_call_iptables 0",
                        false, false));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("nfCallSwitches")
    void theBridgesOwnNfCallOptionRunsItsFramesThroughTheHooks(String what, String commands, boolean ipv4,
            boolean ipv6) throws Exception {
        Bridge br = built(commands).bridge();
        assertThat(br.callsHooks(Family.IPV4)).as(what).isEqualTo(ipv4);
        assertThat(br.callsHooks(Family.IPV6)).as(what).isEqualTo(ipv6);
    }

    @Test
    void aBridgeMadeWithNfCallIp6tablesRunsOnlyItsIpv6ThroughTheHooks() throws Exception {
        Host host = HostFile.parseRunning("host", BRIDGE + "sysctl net.bridge.bridge-nf-call-ip6tables=0\n"
                + "link add br1 type bridge nf_call_ip6tables 1\n");
        assertThat(host.bridgeNetfilter(Family.IPV6, "br1")).isTrue();
        assertThat(host.bridgeNetfilter(Family.IPV6, "br0")).isFalse();
        assertThat(host.bridgeNetfilter(Family.IPV4, "br1")).isFalse();
    }

    @Test
    void aLearningPortPassesFramesToTheHooksLearnsTheirSourceAndDropsThem() throws Exception {
        Built b = built("bridge link set dev p1 state learning");
        Bridge br = b.bridge();
        Bridge.Port p1 = b.port("p1");
        assertThat(br.admit(p1, A, B, 0)).as("on to PREROUTING").isZero();
        assertThat(br.decide(p1, A, B, 0)).isEqualTo(Bridge.LEARNING);
        assertThat(br.fdb().lookup(A, 0)).isEqualTo(p1.index());
        assertThat(Bridge.shouldDeliver(p1, 0)).as("nothing leaves by it").isFalse();
    }

    @Test
    void aListeningOrDisabledPortDropsFramesUnlearned() throws Exception {
        for (String state : new String[] {"listening", "disabled"}) {
            Built b = built("bridge link set dev p1 state " + state);
            Bridge br = b.bridge();
            Bridge.Port p1 = b.port("p1");
            assertThat(br.admit(p1, A, B, 0)).as(state).isEqualTo(Bridge.NOT_FORWARDING);
            assertThat(br.admit(p1, A, LLDP, 0)).as("a link-local group still goes up to the port").isEqualTo(Bridge.UP);
            assertThat(br.fdb().lookup(A, 0)).as("nothing learned, not even from LLDP").isEqualTo(Fdb.UNKNOWN);
            assertThat(br.transmit(B, 0)).isEqualTo(Bridge.FLOOD);
            assertThat(Bridge.shouldDeliver(p1, 0)).as("the host floods past it").isFalse();
            assertThat(Bridge.shouldDeliver(b.port("p2"), 0)).isTrue();
        }
    }

    @Test
    void groupFwdMaskForwardsItsLinkLocalGroupsAsMulticast() throws Exception {
        Built b = built("link set br0 type bridge group_fwd_mask 0x4000");
        Bridge br = b.bridge();
        Bridge.Port p1 = b.port("p1");
        assertThat(br.admit(p1, A, LLDP, 0)).as("LLDP, bit 14").isZero();
        assertThat(br.decide(p1, A, LLDP, 0)).isEqualTo(Bridge.FLOOD_AND_UP);
        assertThat(br.admit(p1, A, 0x0180C2000003L, 0)).as("802.1X, bit 3 not set").isEqualTo(Bridge.UP);
        assertThat(br.admit(p1, A, 0x0180C2000001L, 0)).as("pause frames never").isEqualTo(Bridge.DROP);
    }

    @Test
    void aPortThatGoesDownForgetsWhatItLearnedAndTheOthersKeepIt() throws Exception {
        Host host = HostFile.parseRunning("host", BRIDGE);
        Bridge br = new Bridge(host, host.link("br0"), null);
        int p1 = host.link("p1").index();
        int p2 = host.link("p2").index();
        br.decide(br.port(p1), A, B, 0);
        br.decide(br.port(p2), B, A, 0);
        // down and up between two packets: the datapath sees one change, Linux flushed the port on the way
        host.setUp("p1", false);
        host.setUp("p1", true);
        Bridge after = new Bridge(host, host.link("br0"), br);
        assertThat(after.fdb().lookup(A, 0)).isEqualTo(Fdb.UNKNOWN);
        assertThat(after.fdb().lookup(B, 0)).isEqualTo(p2);
        host.setPortState("p2", Link.PORT_LEARNING);
        assertThat(new Bridge(host, host.link("br0"), after).fdb().lookup(B, 0)).as("a state change flushes nothing")
                .isEqualTo(p2);
    }
}
