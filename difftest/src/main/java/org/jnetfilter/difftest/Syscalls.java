package org.jnetfilter.difftest;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.VarHandle;

/**
 * The few libc calls the harness needs, bound with java.lang.foreign (no JNI): open/close, setns,
 * socket/bind/sendto/recvfrom/setsockopt for AF_PACKET, poll and if_nametoindex. Each call returns the
 * libc result; a negative result throws {@link IllegalStateException} with errno, except where a caller
 * asks for the raw result (recv with MSG_DONTWAIT: EAGAIN is "nothing there").
 *
 * <p>Not on any hot path of jnetfilter: the harness only. Linux x86-64/aarch64 (glibc).
 */
final class Syscalls {
    // Linux: include/uapi/linux/if_ether.h, socket.h, sched.h, fcntl.h, if_packet.h
    static final int AF_PACKET = 17;
    static final int SOCK_RAW = 3;
    static final int ETH_P_ALL = 0x0003;
    static final int CLONE_NEWNET = 0x40000000;
    static final int O_RDONLY = 0;
    static final int O_CLOEXEC = 0x80000;
    static final int SOL_PACKET = 263;
    static final int SOL_SOCKET = 1;
    static final int SO_RCVBUF = 8;
    static final int PACKET_IGNORE_OUTGOING = 23;
    static final int MSG_DONTWAIT = 0x40;
    static final int EAGAIN = 11;
    static final int EINTR = 4;
    static final short POLLIN = 1;
    /** struct sockaddr_ll: family u16, protocol be16, ifindex s32, hatype u16, pkttype u8, halen u8, addr[8]. */
    static final int SOCKADDR_LL_SIZE = 20;
    static final int PACKET_OUTGOING = 4;

    private static final Linker LINKER = Linker.nativeLinker();
    private static final SymbolLookup LIBC = LINKER.defaultLookup();
    private static final MemoryLayout CALL_STATE = Linker.Option.captureStateLayout();
    private static final VarHandle ERRNO = CALL_STATE.varHandle(MemoryLayout.PathElement.groupElement("errno"));
    private static final ValueLayout.OfInt INT = ValueLayout.JAVA_INT;
    private static final ValueLayout.OfLong LONG = ValueLayout.JAVA_LONG;
    private static final ValueLayout ADDR = ValueLayout.ADDRESS;

    private static final MethodHandle OPEN = bind("open", FunctionDescriptor.of(INT, ADDR, INT));
    private static final MethodHandle CLOSE = bind("close", FunctionDescriptor.of(INT, INT));
    private static final MethodHandle SETNS = bind("setns", FunctionDescriptor.of(INT, INT, INT));
    private static final MethodHandle SOCKET = bind("socket", FunctionDescriptor.of(INT, INT, INT, INT));
    private static final MethodHandle BIND = bind("bind", FunctionDescriptor.of(INT, INT, ADDR, INT));
    private static final MethodHandle SETSOCKOPT = bind("setsockopt",
            FunctionDescriptor.of(INT, INT, INT, INT, ADDR, INT));
    private static final MethodHandle SENDTO = bind("sendto",
            FunctionDescriptor.of(LONG, INT, ADDR, LONG, INT, ADDR, INT));
    private static final MethodHandle RECVFROM = bind("recvfrom",
            FunctionDescriptor.of(LONG, INT, ADDR, LONG, INT, ADDR, ADDR));
    private static final MethodHandle POLL = bind("poll", FunctionDescriptor.of(INT, ADDR, LONG, INT));
    private static final MethodHandle SCHED_SETAFFINITY = bind("sched_setaffinity",
            FunctionDescriptor.of(INT, INT, LONG, ADDR));
    private static final MethodHandle IF_NAMETOINDEX = bind("if_nametoindex", FunctionDescriptor.of(INT, ADDR));
    private static final MethodHandle IOCTL = LINKER.downcallHandle(
            LIBC.find("ioctl").orElseThrow(() -> new IllegalStateException("no libc ioctl")),
            FunctionDescriptor.of(INT, INT, LONG, ADDR), Linker.Option.firstVariadicArg(2),
            Linker.Option.captureCallState("errno"));
    static final int SO_TIMESTAMPNS = 35;
    static final long SIOCGSTAMPNS = 0x8907;

    private Syscalls() {
    }

    private static MethodHandle bind(String name, FunctionDescriptor fd) {
        MemorySegment symbol = LIBC.find(name).orElseThrow(() -> new IllegalStateException("no libc " + name));
        return LINKER.downcallHandle(symbol, fd, Linker.Option.captureCallState("errno"));
    }

    private static int errno(MemorySegment state) {
        return (int) ERRNO.get(state, 0L);
    }

    private static IllegalStateException failure(String call, MemorySegment state) {
        return new IllegalStateException(call + " failed: errno " + errno(state));
    }

    static int open(String path) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = arena.allocate(CALL_STATE);
            int fd = (int) OPEN.invokeExact(state, arena.allocateFrom(path), O_RDONLY | O_CLOEXEC);
            if (fd < 0) {
                throw failure("open(" + path + ")", state);
            }
            return fd;
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    static void close(int fd) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = arena.allocate(CALL_STATE);
            int r = (int) CLOSE.invokeExact(state, fd);
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    /** Moves the calling thread (only) into the network namespace open on {@code fd}. */
    static void setns(int fd) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = arena.allocate(CALL_STATE);
            int r = (int) SETNS.invokeExact(state, fd, CLONE_NEWNET);
            if (r < 0) {
                throw failure("setns", state);
            }
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    static int ifNameToIndex(String name) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = arena.allocate(CALL_STATE);
            int r = (int) IF_NAMETOINDEX.invokeExact(state, arena.allocateFrom(name));
            if (r == 0) {
                throw failure("if_nametoindex(" + name + ")", state);
            }
            return r;
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    /** socket(AF_PACKET, SOCK_RAW, ETH_P_ALL) bound to {@code ifindex}, outgoing frames not looped back to it. */
    static int packetSocket(int ifindex) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = arena.allocate(CALL_STATE);
            int fd = (int) SOCKET.invokeExact(state, AF_PACKET, SOCK_RAW | O_CLOEXEC, (int) Short.reverseBytes((short) ETH_P_ALL) & 0xFFFF);
            if (fd < 0) {
                throw failure("socket(AF_PACKET)", state);
            }
            MemorySegment one = arena.allocateFrom(INT, 1);
            int r = (int) SETSOCKOPT.invokeExact(state, fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, one, 4);
            if (r < 0) {
                throw failure("setsockopt(PACKET_IGNORE_OUTGOING)", state);
            }
            MemorySegment size = arena.allocateFrom(INT, 4 << 20);
            r = (int) SETSOCKOPT.invokeExact(state, fd, SOL_SOCKET, SO_RCVBUF, size, 4);
            if (r < 0) {
                throw failure("setsockopt(SO_RCVBUF)", state);
            }
            MemorySegment sll = sockaddr(arena, ifindex);
            r = (int) BIND.invokeExact(state, fd, sll, SOCKADDR_LL_SIZE);
            if (r < 0) {
                throw failure("bind(AF_PACKET, ifindex " + ifindex + ")", state);
            }
            return fd;
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    private static MemorySegment sockaddr(Arena arena, int ifindex) {
        MemorySegment sll = arena.allocate(SOCKADDR_LL_SIZE, 8);
        sll.set(ValueLayout.JAVA_SHORT, 0, (short) AF_PACKET);
        sll.set(ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(java.nio.ByteOrder.BIG_ENDIAN), 2, (short) ETH_P_ALL);
        sll.set(ValueLayout.JAVA_INT, 4, ifindex);
        return sll;
    }

    /** Sends one whole Ethernet frame out of {@code ifindex}. */
    static void send(int fd, int ifindex, MemorySegment frame, Arena arena) {
        try {
            MemorySegment state = arena.allocate(CALL_STATE);
            MemorySegment sll = sockaddr(arena, ifindex);
            sll.set(ValueLayout.JAVA_BYTE, 11, (byte) 6);
            long n = (long) SENDTO.invokeExact(state, fd, frame, frame.byteSize(), 0, sll, SOCKADDR_LL_SIZE);
            if (n != frame.byteSize()) {
                throw failure("sendto (" + n + " of " + frame.byteSize() + " bytes)", state);
            }
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    /**
     * One frame into {@code buffer} without blocking: its length, or -1 when none is queued. Frames the
     * socket's own interface sent (PACKET_OUTGOING) are ignored by the socket option set at creation.
     */
    static int receive(int fd, MemorySegment buffer, Arena arena) {
        try {
            MemorySegment state = arena.allocate(CALL_STATE);
            long n = (long) RECVFROM.invokeExact(state, fd, buffer, buffer.byteSize(), MSG_DONTWAIT,
                    MemorySegment.NULL, MemorySegment.NULL);
            if (n < 0) {
                int e = errno(state);
                if (e == EAGAIN || e == EINTR) {
                    return -1;
                }
                throw new IllegalStateException("recvfrom failed: errno " + e);
            }
            return (int) n;
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    /** Turns on receive timestamps (SO_TIMESTAMPNS): the kernel stamps each frame when it arrives (netif_rx). */
    static void timestamps(int fd) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = arena.allocate(CALL_STATE);
            MemorySegment one = arena.allocate(INT);
            one.set(INT, 0, 1);
            int r = (int) SETSOCKOPT.invokeExact(state, fd, SOL_SOCKET, SO_TIMESTAMPNS, one, 4);
            if (r < 0) {
                throw failure("setsockopt(SO_TIMESTAMPNS)", state);
            }
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    /**
     * SIOCGSTAMPNS: when the last frame read from {@code fd} arrived, in nanoseconds since the epoch (the kernel's
     * CLOCK_REALTIME), or -1 when the kernel has none.
     */
    static long lastArrival(int fd, Arena arena) {
        try {
            MemorySegment state = arena.allocate(CALL_STATE);
            MemorySegment ts = arena.allocate(16, 8);
            int r = (int) IOCTL.invokeExact(state, fd, SIOCGSTAMPNS, ts);
            if (r < 0) {
                return -1;
            }
            return ts.get(LONG, 0) * 1_000_000_000L + ts.get(LONG, 8);
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    /** poll(2) for input on {@code fd}: true when something is readable within {@code millis}. */
    static boolean readable(int fd, int millis, Arena arena) {
        try {
            MemorySegment state = arena.allocate(CALL_STATE);
            MemorySegment pfd = arena.allocate(8, 4);
            pfd.set(INT, 0, fd);
            pfd.set(ValueLayout.JAVA_SHORT, 4, POLLIN);
            pfd.set(ValueLayout.JAVA_SHORT, 6, (short) 0);
            int r = (int) POLL.invokeExact(state, pfd, 1L, millis);
            return r > 0;
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    /** Pins the calling thread to CPU 0 (sched_setaffinity on tid 0 = the caller). */
    static void pinToFirstCpu() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = arena.allocate(CALL_STATE);
            MemorySegment mask = arena.allocate(128, 8);
            mask.set(ValueLayout.JAVA_BYTE, 0, (byte) 1);
            int r = (int) SCHED_SETAFFINITY.invokeExact(state, 0, 128L, mask);
            if (r < 0) {
                throw failure("sched_setaffinity", state);
            }
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }
}
