package org.jnetfilter.core.netfilter;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.stream.Stream;
import org.jnetfilter.core.ext.ExtensionData;
import org.jnetfilter.core.rules.Family;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * xt_owner for a packet a local socket sent ({@link PacketContext#socket}): uid 1000, gid 100, no
 * supplementary groups. The same rules on a packet without a socket answer as {@link NoSocketNoBridgeSemanticsTest}.
 */
class SocketOwnerSemanticsTest {

    static Stream<Arguments> rules() {
        return Stream.of(
                Arguments.of("--uid-owner 1000", true),
                Arguments.of("--uid-owner 999", false),
                Arguments.of("! --uid-owner 999", true),
                Arguments.of("! --uid-owner 1000", false),
                Arguments.of("--uid-owner 500-1500", true),
                Arguments.of("--gid-owner 100", true),
                Arguments.of("--gid-owner 101", false),
                Arguments.of("! --gid-owner 101", true),
                Arguments.of("--uid-owner 1000 --gid-owner 100", true),
                Arguments.of("--uid-owner 1000 --gid-owner 101", false),
                Arguments.of("--uid-owner 1000 ! --gid-owner 101", true),
                Arguments.of("--socket-exists", true),
                Arguments.of("! --socket-exists", false),
                // no supplementary groups: only the fsgid counts
                Arguments.of("--gid-owner 27 --suppl-groups", false),
                Arguments.of("--gid-owner 100 --suppl-groups", true));
    }

    @ParameterizedTest(name = "{0} -> {1}")
    @MethodSource("rules")
    void ownerMatchesTheSendingSocketsCredentials(String options, boolean expected) {
        ExtensionData m = SemanticsPackets.match(Family.IPV4, 6, "owner", options.split(" "));
        PacketContext pkt = new PacketContext().ipv4(SemanticsPackets.ipv4(6, SemanticsPackets.tcp(0x02)), 0);
        pkt.socket(1000, 100);
        assertThat(m.matches(pkt)).isEqualTo(expected);
        // a load forgets the socket: the next packet is the kernel's own until told otherwise
        pkt.ipv4(SemanticsPackets.ipv4(6, SemanticsPackets.tcp(0x02)), 0);
        assertThat(pkt.socketUid()).isEqualTo(-1);
    }

    static Stream<Arguments> controlSocketRules() {
        return Stream.of(
                Arguments.of("--socket-exists", true),
                Arguments.of("! --socket-exists", false),
                Arguments.of("--uid-owner 0", false),
                Arguments.of("! --uid-owner 0", true),
                Arguments.of("--gid-owner 0", false),
                Arguments.of("! --gid-owner 0", true),
                Arguments.of("! --uid-owner 1000 --gid-owner 0", false),
                Arguments.of("! --uid-owner 1000 ! --gid-owner 0", true));
    }

    /** Linux: icmp_send, echo replies and closed ports' resets go out on a control socket, which has no file. */
    @ParameterizedTest(name = "{0} -> {1}")
    @MethodSource("controlSocketRules")
    void aKernelControlSocketExistsButOwnsNothing(String options, boolean expected) {
        ExtensionData m = SemanticsPackets.match(Family.IPV4, 6, "owner", options.split(" "));
        PacketContext pkt = new PacketContext().ipv4(SemanticsPackets.ipv4(6, SemanticsPackets.tcp(0x04)), 0);
        pkt.socket(PacketContext.KERNEL_SOCKET, PacketContext.KERNEL_SOCKET);
        assertThat(m.matches(pkt)).isEqualTo(expected);
    }
}
