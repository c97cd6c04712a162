package org.jnetfilter.core.packet;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.foreign.MemorySegment;
import java.lang.management.ManagementFactory;
import org.junit.jupiter.api.Test;

/** The contract in every class comment: parsing and checksumming a packet allocates nothing. */
class HotPathAllocationTest {
    private final EthernetHeader eth = new EthernetHeader();
    private final Ipv4Header ip = new Ipv4Header();
    private final TcpHeader tcp = new TcpHeader();
    private final Ipv6Header ip6 = new Ipv6Header();
    private final Ipv6HeaderChain chain = new Ipv6HeaderChain();
    private final IpReceive receive = new IpReceive();
    private long sink;

    private void onePacket(MemorySegment v4, MemorySegment v6) {
        int l3 = eth.wrap(v4, 0).headerLength((int) v4.byteSize());
        if (receive.ipv4(v4, l3, v4.byteSize() - l3).accepted()) {
            ip.wrap(v4, l3);
            tcp.wrap(v4, l3 + ip.headerLength());
            sink += tcp.mss() + tcp.windowScale() + tcp.sourcePort() + tcp.sequence();
            int c = Checksums.update32(tcp.checksum(), ip.source(), 0x0A000001);
            sink += Checksums.tcpV4(v4, l3 + 20, 40, ip.source(), ip.destination()) + c;
            ip.decrementTtl();
            ip.ttl(64).updateChecksum();
        }
        if (receive.ipv6(v6, 14, v6.byteSize() - 14, true).accepted()) {
            chain.walk(v6, 14, (int) receive.length());
            sink += chain.protocol() + ip6.wrap(v6, 14).flowLabel()
                    + Checksums.icmpv6(v6, 14, 14 + chain.transportOffset(), 16);
        }
    }

    @Test
    void parsingValidatingAndChecksummingAllocateNothingPerPacket() {
        var threads = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        MemorySegment v4 = Bytes.hex(LinuxCapturesTest.SYN);
        MemorySegment v6 = Bytes.hex(LinuxCapturesTest.ICMP6_ECHO);
        for (int i = 0; i < 20_000; i++) {
            onePacket(v4, v6);
        }
        long id = Thread.currentThread().threadId();
        // the least of three rounds: a JIT compilation or a profile update may allocate during one of them;
        // anything allocated per packet would be at least 16 bytes x 100k
        long allocated = Long.MAX_VALUE;
        for (int round = 0; round < 3; round++) {
            long before = threads.getThreadAllocatedBytes(id);
            for (int i = 0; i < 100_000; i++) {
                onePacket(v4, v6);
            }
            allocated = Math.min(allocated, threads.getThreadAllocatedBytes(id) - before);
        }
        assertThat(allocated).as("bytes allocated for 100k packets").isLessThan(100_000);
        assertThat(sink).isNotZero();
    }
}
