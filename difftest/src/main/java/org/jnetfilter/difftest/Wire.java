package org.jnetfilter.difftest;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.jnetfilter.core.packet.ArpHeader;
import org.jnetfilter.core.packet.EthernetHeader;

/**
 * The two wire ends in namespaces {@code a} and {@code b}: one AF_PACKET socket each, opened by a
 * thread that setns()'s into the namespace (the socket keeps its namespace after the thread ends), used
 * to inject frames towards dut and to capture what dut sends.
 *
 * <p>Pacing. After each injected frame the harness sends an ARP request for dut's address on both
 * sides, each with a fresh sender MAC (the marker id), and reads until both ARP replies come back. dut
 * answers ARP in the same receive path, in order, after it has processed the injected frame, so every
 * frame that frame caused (forwarded, rejected, answered) is read before the markers' replies. The
 * senders' IPs are dut's permanent neighbours, so the markers change no state and never cross iptables.
 * All waits are bounded ({@link #MARKER_TIMEOUT_MS}); a lost marker is an error, not a silent skip.
 */
final class Wire implements AutoCloseable {
    static final int MARKER_TIMEOUT_MS = 2000;
    private static final int SNAP = 65536;
    /** Locally administered marker MACs 06:xx:xx:xx:xx:xx: never a neighbour, never an injected source. */
    private static final long MARKER_OUI = 0x06_00_00_00_00_00L;

    private final int fdA;
    private final int fdB;
    private final int ifA;
    private final int ifB;
    private final Arena arena = Arena.ofShared();
    private final MemorySegment buffer = arena.allocate(SNAP, 8);
    private final MemorySegment out = arena.allocate(SNAP, 8);
    private final ExecutorService pinned;
    private long markerSequence;
    /** When side a's last marker reply arrived (kernel receive stamp, epoch nanoseconds), or -1. */
    private long lastMarkerArrival = -1;

    /** One frame dut sent, read on {@code side} (so it left dut on the interface facing that side). */
    record Captured(String side, byte[] frame) {
        String dutInterface() {
            return side.equals(Topology.A) ? Topology.DUT_A : Topology.DUT_B;
        }
    }

    Wire(Topology topology) {
        int[] a = openIn(topology.namespace(Topology.A));
        int[] b = openIn(topology.namespace(Topology.B));
        fdA = a[0];
        ifA = a[1];
        fdB = b[0];
        ifB = b[1];
        // one thread pinned to one CPU injects: frames and markers go through the same backlog queue in order
        pinned = Executors.newSingleThreadExecutor(r -> Thread.ofPlatform().name("difftest-inject").daemon()
                .unstarted(r));
        call(() -> {
            Syscalls.pinToFirstCpu();
            return null;
        });
    }

    private static int[] openIn(String namespace) {
        int[][] result = new int[1][];
        RuntimeException[] failure = new RuntimeException[1];
        Thread t = Thread.ofPlatform().name("setns-" + namespace).start(() -> {
            try {
                int nsFd = Syscalls.open("/run/netns/" + namespace);
                try {
                    Syscalls.setns(nsFd);
                } finally {
                    Syscalls.close(nsFd);
                }
                int ifindex = Syscalls.ifNameToIndex(Topology.WIRE);
                int fd = Syscalls.packetSocket(ifindex);
                Syscalls.timestamps(fd);
                result[0] = new int[] {fd, ifindex};
            } catch (RuntimeException e) {
                failure[0] = e;
            }
        });
        try {
            t.join();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
        if (failure[0] != null) {
            throw failure[0];
        }
        return result[0];
    }

    private <T> T call(java.util.concurrent.Callable<T> task) {
        Future<T> f = pinned.submit(task);
        try {
            return f.get(60, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        } catch (ExecutionException e) {
            if (e.getCause() instanceof RuntimeException r) {
                throw r;
            }
            throw new IllegalStateException(e.getCause());
        } catch (TimeoutException e) {
            f.cancel(true);
            throw new IllegalStateException("injection did not finish in 60 s", e);
        }
    }

    /** Reads and forgets whatever is queued on both sides (between rulesets). */
    void drain() {
        call(() -> {
            try (Arena local = Arena.ofConfined()) {
                while (Syscalls.receive(fdA, buffer, local) >= 0) {
                    // discarded
                }
                while (Syscalls.receive(fdB, buffer, local) >= 0) {
                    // discarded
                }
            }
            return null;
        });
    }

    /**
     * Injects each frame in turn (after its pause), returning per frame what dut sent in response, in order;
     * {@code sentAtNanos} gets the wall-clock time (nanoseconds since the epoch) dut processed each frame at: the
     * kernel's arrival stamp of side a's marker reply (SO_TIMESTAMPNS), or the time of sending without one.
     */
    List<List<Captured>> inject(List<Injection> injections, List<Long> sentAtNanos) {
        return call(() -> {
            List<List<Captured>> all = new ArrayList<>(injections.size());
            try (Arena local = Arena.ofConfined()) {
                for (Injection in : injections) {
                    if (in.pauseMillis() > 0) {
                        Thread.sleep(in.pauseMillis());
                    }
                    java.time.Instant now = java.time.Instant.now();
                    long sent = now.getEpochSecond() * 1_000_000_000L + now.getNano();
                    all.add(injectOne(in, local));
                    // dut answers side a's marker right after the frame, in the same softirq run: the marker reply's
                    // arrival stamp is when dut processed the frame, even when this thread was late to send or read
                    long processed = lastMarkerArrival;
                    sentAtNanos.add(processed >= sent && processed - sent < 10_000_000_000L ? processed : sent);
                }
            }
            return all;
        });
    }

    private List<Captured> injectOne(Injection in, Arena local) {
        MemorySegment frame = out.asSlice(0, in.frame().length);
        MemorySegment.copy(in.frame(), 0, frame, ValueLayout.JAVA_BYTE, 0, in.frame().length);
        boolean fromA = in.side().equals(Topology.A);
        Syscalls.send(fromA ? fdA : fdB, fromA ? ifA : ifB, frame, local);
        long markerA = MARKER_OUI | (++markerSequence & 0xFFFF_FFFFL);
        long markerB = MARKER_OUI | (++markerSequence & 0xFFFF_FFFFL);
        sendMarker(fdA, ifA, markerA, Topology.HOST_A_V4, Topology.DUT_A_V4, local);
        sendMarker(fdB, ifB, markerB, Topology.HOST_B_V4, Topology.DUT_B_V4, local);
        List<Captured> captured = new ArrayList<>();
        readUntilMarker(fdA, Topology.A, markerA, captured, local);
        readUntilMarker(fdB, Topology.B, markerB, captured, local);
        return captured;
    }

    private void sendMarker(int fd, int ifindex, long senderMac, int senderIp, int targetIp, Arena local) {
        MemorySegment frame = out.asSlice(0, EthernetHeader.LENGTH + 28);
        frame.fill((byte) 0);
        new EthernetHeader().wrap(frame, 0).destination(EthernetHeader.BROADCAST).source(senderMac)
                .etherType(EthernetHeader.ETH_P_ARP);
        ArpHeader arp = new ArpHeader().wrap(frame, EthernetHeader.LENGTH);
        arp.hardwareType(ArpHeader.HTYPE_ETHERNET).protocolType(EthernetHeader.ETH_P_IP).hardwareLength(6)
                .protocolLength(4).operation(ArpHeader.OP_REQUEST).senderMac(senderMac)
                .senderIp(senderIp).targetMac(0).targetIp(targetIp);
        Syscalls.send(fd, ifindex, frame, local);
    }

    private void readUntilMarker(int fd, String side, long marker, List<Captured> captured, Arena local) {
        long deadline = System.nanoTime() + MARKER_TIMEOUT_MS * 1_000_000L;
        while (true) {
            int n = Syscalls.receive(fd, buffer, local);
            if (n < 0) {
                long left = (deadline - System.nanoTime()) / 1_000_000L;
                if (left <= 0) {
                    throw new IllegalStateException("no ARP reply from dut on side " + side + " within "
                            + MARKER_TIMEOUT_MS + " ms (marker " + Topology.mac(marker) + ")");
                }
                Syscalls.readable(fd, (int) Math.min(left, 50), local);
                continue;
            }
            if (isMarkerReply(n, marker)) {
                if (side.equals(Topology.A)) {
                    lastMarkerArrival = Syscalls.lastArrival(fd, local);
                }
                return;
            }
            captured.add(new Captured(side, buffer.asSlice(0, n).toArray(ValueLayout.JAVA_BYTE)));
        }
    }

    private boolean isMarkerReply(int n, long marker) {
        if (n < EthernetHeader.LENGTH + 28) {
            return false;
        }
        EthernetHeader eth = new EthernetHeader().wrap(buffer, 0);
        if (eth.etherType() != EthernetHeader.ETH_P_ARP) {
            return false;
        }
        ArpHeader arp = new ArpHeader().wrap(buffer, EthernetHeader.LENGTH);
        return arp.operation() == ArpHeader.OP_REPLY && arp.targetMac() == marker;
    }

    @Override
    public void close() {
        pinned.shutdownNow();
        Syscalls.close(fdA);
        Syscalls.close(fdB);
        arena.close();
    }
}
