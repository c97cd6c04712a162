package org.jnetfilter.core.netfilter;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import org.jnetfilter.core.host.Host;
import org.jnetfilter.core.host.HostFile;
import org.junit.jupiter.api.Test;

/**
 * ipv6_hop_ioam where the kernel comparison ({@link KernelIoam6DifferentialTest}) does not reach: an interface with
 * ioam6_enabled off leaves traces alone, a datagram for the host itself records no egress interface (its route is
 * lo's), and the HOST file's {@code ioam} lines build namespaces and schemas as iproute2 does.
 */
class Ioam6SemanticsTest {
    private static final HexFormat HEX = HexFormat.of();

    private static byte[] forwardOrDeliver(String host, String probeDst) throws Exception {
        List<byte[]> out = new ArrayList<>();
        Datapath d = new Datapath(HostFile.parseRunning("b", host), new PacketSink() {
            @Override
            public void transmit(String ifname, MemorySegment frame) {
                out.add(frame.asSlice(14).toArray(ValueLayout.JAVA_BYTE));
            }

            @Override
            public void deliverLocal(String ifname, MemorySegment packet) {
                out.add(packet.toArray(ValueLayout.JAVA_BYTE));
            }
        });
        byte[] probe = KernelIoam6DifferentialTest.PROBES.get(3).clone();
        // namespace 123, ids only (bit 1), one node's room: the probe of an unknown namespace made known
        byte[] trace = ByteBuffer.allocate(12).putShort((short) 123).putShort((short) (1 << 11 | 1))
                .putInt(0x400000 << 8).array();
        System.arraycopy(trace, 0, probe, 48, 8);
        System.arraycopy(KernelSrv6DifferentialTest.addr(probeDst), 0, probe, 24, 16);
        d.receive("vba", MemorySegment.ofArray(HEX.parseHex("0200000000ba02000000000a86dd" + HEX.formatHex(probe))),
                true, 1_000_000_000L, Trace.NONE);
        assertThat(out).hasSize(1);
        return out.get(0);
    }

    @Test
    void aTraceForTheHostItselfRecordsTheIngressIdAndNoEgress() throws Exception {
        byte[] ip = forwardOrDeliver(KernelIoam6DifferentialTest.HOST, KernelSrv6DifferentialTest.B2);
        assertThat(ip[51] & 0x7F).as("RemainingLen").isZero();
        assertThat(HEX.formatHex(ip, 56, 60)).as("ingress 11, egress unavailable (lo)").isEqualTo("000bffff");
    }

    @Test
    void aTraceForwardedRecordsBothInterfaceIds() throws Exception {
        byte[] ip = forwardOrDeliver(KernelIoam6DifferentialTest.HOST, KernelSrv6DifferentialTest.C);
        assertThat(HEX.formatHex(ip, 56, 60)).isEqualTo("000b000c");
    }

    @Test
    void anInterfaceWithIoamOffLeavesTheTraceAlone() throws Exception {
        String host = KernelIoam6DifferentialTest.HOST.replace("sysctl net.ipv6.conf.vba.ioam6_enabled=1\n", "");
        byte[] ip = forwardOrDeliver(host, KernelSrv6DifferentialTest.C);
        assertThat(ip[51] & 0x7F).as("RemainingLen").isEqualTo(1);
        assertThat(HEX.formatHex(ip, 56, 60)).isEqualTo("00000000");
    }

    @Test
    void hostFileIoamLinesBuildNamespacesAndSchemas() throws Exception {
        Host h = HostFile.parse("t", String.join("\n", "ioam namespace add 1 data 0x10 wide 0xffffffffffffff01",
                "ioam namespace add 2", "ioam schema add 70000 xyz", "ioam namespace set 2 schema 70000",
                "ioam namespace set 1 schema 70000", ""));
        assertThat(h.ioam6().namespace(1).data()).isEqualTo(0x10);
        assertThat(h.ioam6().namespace(1).wide()).isEqualTo(0xffffffffffffff01L);
        assertThat(h.ioam6().namespace(2).data()).isEqualTo(0xFFFFFFFFL);
        // a schema belongs to one namespace: the second set moved it
        assertThat(h.ioam6().namespace(2).schema()).isNull();
        assertThat(h.ioam6().namespace(1).schema().words()).isEqualTo(1);
        assertThat(h.ioam6().namespace(3)).isNull();
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> HostFile.parse("t", "ioam namespace add 1\n"
                + "ioam namespace add 1\n")).hasMessageContaining("File exists");
    }
}
