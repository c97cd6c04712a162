package org.jnetfilter.core.bridge;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.stream.Stream;
import org.jnetfilter.core.host.Host;
import org.jnetfilter.core.host.HostFile;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * A bridge's MTU (br_mtu_auto_adjust, br_change_mtu). Each row is a command sequence run on Linux 6.18 in a netns
 * (ip link ... as in the HOST file) and the MTU {@code ip link show br0} printed after it.
 */
class BridgeMtuTest {

    static Stream<Arguments> sequencesAsLinuxRanThem() {
        String ports = """
                link add br0 type bridge
                link add v1 mtu 1400
                link add v2 mtu 1300
                """;
        return Stream.of(
                Arguments.of("a bridge without ports has ETH_DATA_LEN", ports, 1500),
                Arguments.of("it takes its only port's MTU", ports + "link set v1 master br0\n", 1400),
                Arguments.of("then its smallest port's", ports + "link set v1 master br0\nlink set v2 master br0\n",
                        1300),
                Arguments.of("a port leaving gives the next smallest", ports
                        + "link set v1 master br0\nlink set v2 master br0\nlink set v2 nomaster\n", 1400),
                Arguments.of("the last port leaving gives 1500 again", ports
                        + "link set v1 master br0\nlink set v1 nomaster\n", 1500),
                Arguments.of("a port's MTU change is followed", ports + "link set v1 master br0\nlink set v1 mtu 1200\n",
                        1200),
                Arguments.of("an MTU the user set stays when a port joins", ports
                        + "link set br0 mtu 1000\nlink set v1 master br0\n", 1000),
                Arguments.of("and may be larger than every port's", ports
                        + "link set v1 master br0\nlink set br0 mtu 1450\n", 1450),
                Arguments.of("and stays when a port's MTU changes", ports
                        + "link set v1 master br0\nlink set br0 mtu 1450\nlink set v1 mtu 1200\n", 1450),
                Arguments.of("setting the MTU it already has fixes nothing (dev_set_mtu skips it)", ports
                        + "link set v1 master br0\nlink set br0 mtu 1400\nlink set v1 mtu 1300\n", 1300),
                Arguments.of("the MTU given at creation is replaced by the first port's", """
                        link add br0 mtu 1200 type bridge
                        link add v1 mtu 1400
                        link set v1 master br0
                        """, 1400));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("sequencesAsLinuxRanThem")
    void theBridgesMtuFollowsItsSmallestPortUnlessTheUserSetIt(String what, String hostFile, int mtu)
            throws Exception {
        Host host = HostFile.parse("host", hostFile);
        assertThat(host.link("br0").mtu()).as(what).isEqualTo(mtu);
    }
}
