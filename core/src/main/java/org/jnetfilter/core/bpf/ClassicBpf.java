package org.jnetfilter.core.bpf;

import java.util.List;
import org.jnetfilter.core.netfilter.PacketContext;
import org.jnetfilter.core.rules.Family;
import org.jnetfilter.core.rules.Hook;

/**
 * Classic BPF (the {@code struct sock_filter} programs of {@code -m bpf --bytecode}) run over a packet as Linux runs
 * them at a netfilter hook: the program sees the packet from its network header ({@code skb->data} there), as
 * xt_bpf's {@code bpf_prog_run_save_cb} hands it over after the kernel converted the program to eBPF
 * (net/core/filter.c, bpf_convert_filter).
 *
 * <pre>
 *   instruction   code (16 bits) | jt (8) | jf (8) | k (32)
 *   class         code &amp; 0x07: LD 0, LDX 1, ST 2, STX 3, ALU 4, JMP 5, RET 6, MISC 7
 *   LD size       code &amp; 0x18: W 0x00, H 0x08, B 0x10
 *   LD mode       code &amp; 0xe0: IMM 0x00, ABS 0x20, IND 0x40, MEM 0x60, LEN 0x80, MSH 0xa0
 *   ALU/JMP op    code &amp; 0xf0; source code &amp; 0x08: K 0x00, X 0x08
 *   RET value     code &amp; 0x18: K 0x00, A 0x10 (anything but K returns A, as the conversion does)
 * </pre>
 *
 * <p>Semantics, as the converted program behaves:
 * <ul>
 * <li>A, X and the 16 memory words are 32-bit; A and X start at 0 (the checker refuses reading a memory word
 * that no path stored).</li>
 * <li>Packet loads are big-endian. An offset {@code k >= 0} (ABS) or {@code X + k} (IND, 32-bit sum) must lie
 * inside the datagram ({@code skb->len}); a negative offset is one of the special areas: {@code SKF_NET_OFF}
 * (-0x100000) + n is byte n of the network header, {@code SKF_LL_OFF} (-0x200000) + n byte n of the link-layer
 * header (when the packet came with one), both up to the end of the data. A load that fails ends the program
 * with 0 (bpf_skb_load_helper_* answer -EFAULT).</li>
 * <li>ABS loads at {@code SKF_AD_OFF} (-0x1000) + n are the ancillary loads, whatever their size: protocol
 * (the EtherType), pkttype, ifindex and hatype of {@code skb->dev} (ending the program with 0 where it has no
 * device: at OUTPUT), mark, queue (0: one queue), cpu (0, as NFQUEUE's fanout sees it), A ^= X, the VLAN tag,
 * its presence and protocol (0: no VLAN is modelled), a random number ({@link PacketContext#random()}), the
 * payload offset (skb_get_poff, from the kernel's flow dissector: {@link FlowDissection}), netlink attributes
 * (nla_find from offset A for type X, nested or not), the receive hash ({@code skb->hash} as it is: 0, nothing having computed it before the
 * hook; checked on Linux 6.18 for received packets. A connected socket's txhash and RPS are not modelled).</li>
 * <li>Division or remainder by X = 0 ends the program with 0; shifts by X take X mod 32 (x86-64).</li>
 * <li>The match: the return value is not 0.</li>
 * </ul>
 *
 * <p>Hot path: {@link #run} allocates nothing (the memory words are a per-thread scratch array); any thread.
 */
public final class ClassicBpf {
    /** One instruction: {@code {code, jt, jf, k}} as nfbpf_compile prints them. */
    public record Insn(int code, int jt, int jf, long k) {
    }

    // Linux: include/uapi/linux/filter.h
    static final int SKF_AD_OFF = -0x1000;
    static final int SKF_NET_OFF = -0x100000;
    static final int SKF_LL_OFF = -0x200000;
    static final int SKF_AD_PROTOCOL = 0;
    static final int SKF_AD_PKTTYPE = 4;
    static final int SKF_AD_IFINDEX = 8;
    static final int SKF_AD_NLATTR = 12;
    static final int SKF_AD_NLATTR_NEST = 16;
    static final int SKF_AD_MARK = 20;
    static final int SKF_AD_QUEUE = 24;
    static final int SKF_AD_HATYPE = 28;
    static final int SKF_AD_RXHASH = 32;
    static final int SKF_AD_CPU = 36;
    static final int SKF_AD_ALU_XOR_X = 40;
    static final int SKF_AD_VLAN_TAG = 44;
    static final int SKF_AD_VLAN_TAG_PRESENT = 48;
    static final int SKF_AD_PAY_OFFSET = 52;
    static final int SKF_AD_RANDOM = 56;
    static final int SKF_AD_VLAN_TPID = 60;
    static final int SKF_AD_MAX = 64;
    // Linux: BPF_MEMWORDS
    public static final int MEMORY_WORDS = 16;
    // Linux: ARPHRD_ETHER, ARPHRD_LOOPBACK
    private static final int ARPHRD_ETHER = 1;
    private static final int ARPHRD_LOOPBACK = 772;
    private static final int ETH_HLEN = 14;

    private static final ThreadLocal<int[]> MEMORY = ThreadLocal.withInitial(() -> new int[MEMORY_WORDS]);

    /** A load past the data: the program ends with 0. */
    private static final long FAULT = -1;

    private ClassicBpf() {
    }

    /**
     * bpf_check_classic: whether Linux loads the program. Opcodes are checked by the caller's table; here the
     * operands: division by a constant 0, constant shifts of 32 or more, memory words out of range, jumps past
     * the end, ancillary offsets Linux does not know, the last instruction a return, and every memory word read
     * only after each path to it stored it (check_load_and_stores). Answers why not, or null.
     */
    public static String refusal(List<Insn> program) {
        int len = program.size();
        for (int pc = 0; pc < len; pc++) {
            Insn n = program.get(pc);
            int code = n.code();
            long k = n.k();
            switch (code) {
                case 0x34, 0x94 -> {
                    if (k == 0) {
                        return "division by constant 0 at " + pc;
                    }
                }
                case 0x64, 0x74 -> {
                    if (k >= 32) {
                        return "constant shift of " + k + " at " + pc;
                    }
                }
                case 0x60, 0x61, 0x02, 0x03 -> {
                    if (k >= MEMORY_WORDS) {
                        return "memory word " + k + " at " + pc;
                    }
                }
                case 0x05 -> {
                    if (k >= len - pc - 1) {
                        return "jump past the end at " + pc;
                    }
                }
                case 0x20, 0x28, 0x30 -> {
                    int off = (int) k;
                    if (k >= (SKF_AD_OFF & 0xFFFFFFFFL) && !knownAncillary(off - SKF_AD_OFF)) {
                        return "unknown ancillary load at " + pc;
                    }
                }
                default -> {
                    if ((code & 0x07) == 0x05 && (pc + 1 + n.jt() >= len || pc + 1 + n.jf() >= len)) {
                        return "conditional jump past the end at " + pc;
                    }
                }
            }
        }
        int last = program.get(len - 1).code();
        if (last != 0x06 && last != 0x16) {
            return "the last instruction is no return";
        }
        return uninitialisedLoad(program);
    }

    private static boolean knownAncillary(int n) {
        return n >= 0 && n < SKF_AD_MAX && n % 4 == 0;
    }

    /** check_load_and_stores: each memory read must follow a store on every path to it. */
    private static String uninitialisedLoad(List<Insn> program) {
        int len = program.size();
        int[] masks = new int[len];
        java.util.Arrays.fill(masks, 0xFFFF);
        int valid = 0;
        for (int pc = 0; pc < len; pc++) {
            Insn n = program.get(pc);
            valid &= masks[pc];
            int code = n.code();
            if (code == 0x02 || code == 0x03) {
                valid |= 1 << n.k();
            } else if (code == 0x60 || code == 0x61) {
                if ((valid & 1 << n.k()) == 0) {
                    return "memory word " + n.k() + " read before it is stored at " + pc;
                }
            } else if (code == 0x05) {
                masks[pc + 1 + (int) n.k()] &= valid;
                valid = 0xFFFF;
            } else if ((code & 0x07) == 0x05) {
                masks[pc + 1 + n.jt()] &= valid;
                masks[pc + 1 + n.jf()] &= valid;
                valid = 0xFFFF;
            }
        }
        return null;
    }

    /** The program's return value for {@code pkt} (unsigned 32 bits); 0 when a load fails. */
    public static long run(List<Insn> program, PacketContext pkt) {
        int[] mem = MEMORY.get();
        int a = 0;
        int x = 0;
        int pc = 0;
        while (true) {
            Insn n = program.get(pc++);
            int code = n.code();
            int k = (int) n.k();
            switch (code & 0x07) {
                case 0x00, 0x01 -> {
                    long v = load(code, k, a, x, pkt, mem);
                    if (v == FAULT) {
                        return 0;
                    }
                    if (v == ANCILLARY_XOR) {
                        a ^= x;
                    } else if ((code & 0x07) == 0x00) {
                        a = (int) v;
                    } else {
                        x = (int) v;
                    }
                }
                case 0x02 -> mem[k] = a;
                case 0x03 -> mem[k] = x;
                case 0x04 -> {
                    int operand = (code & 0x08) != 0 ? x : k;
                    switch (code & 0xF0) {
                        case 0x00 -> a += operand;
                        case 0x10 -> a -= operand;
                        case 0x20 -> a *= operand;
                        case 0x30, 0x90 -> {
                            if (operand == 0) {
                                // Linux: the conversion tests X and exits with 0 before dividing
                                return 0;
                            }
                            a = (code & 0xF0) == 0x30 ? Integer.divideUnsigned(a, operand)
                                    : Integer.remainderUnsigned(a, operand);
                        }
                        case 0x40 -> a |= operand;
                        case 0x50 -> a &= operand;
                        case 0x60 -> a <<= operand;
                        case 0x70 -> a >>>= operand;
                        case 0x80 -> a = -a;
                        case 0xA0 -> a ^= operand;
                        default -> throw new IllegalStateException("bpf: ALU code " + code + " passed the check");
                    }
                }
                case 0x05 -> {
                    if (code == 0x05) {
                        pc += k;
                    } else {
                        int operand = (code & 0x08) != 0 ? x : k;
                        boolean taken = switch (code & 0xF0) {
                            case 0x10 -> a == operand;
                            case 0x20 -> Integer.compareUnsigned(a, operand) > 0;
                            case 0x30 -> Integer.compareUnsigned(a, operand) >= 0;
                            case 0x40 -> (a & operand) != 0;
                            default -> throw new IllegalStateException("bpf: JMP code " + code + " passed the check");
                        };
                        pc += taken ? n.jt() : n.jf();
                    }
                }
                case 0x06 -> {
                    return ((code & 0x18) == 0x00 ? k : a) & 0xFFFFFFFFL;
                }
                default -> {
                    if (code == 0x07) {
                        x = a;
                    } else {
                        a = x;
                    }
                }
            }
        }
    }

    /** What {@link #load} answers for SKF_AD_ALU_XOR_X: not a value, the caller XORs A with X. */
    private static final long ANCILLARY_XOR = -2;

    /** An LD or LDX: the value (unsigned 32 bits), {@link #FAULT}, or {@link #ANCILLARY_XOR}. */
    private static long load(int code, int k, int a, int x, PacketContext pkt, int[] mem) {
        int size = switch (code & 0x18) {
            case 0x00 -> 4;
            case 0x08 -> 2;
            default -> 1;
        };
        return switch (code & 0xE0) {
            case 0x00 -> k & 0xFFFFFFFFL;
            case 0x20 -> k >= SKF_AD_OFF && k < 0 ? ancillary(k - SKF_AD_OFF, a, x, pkt) : packet(pkt, k, size);
            case 0x40 -> packet(pkt, x + k, size);
            case 0x60 -> mem[k] & 0xFFFFFFFFL;
            case 0x80 -> pkt.length();
            default -> {
                // LDX | B | MSH: X = 4 * (P[k] & 0xf), the byte loaded as LD ABS loads it
                long b = packet(pkt, k, 1);
                yield b == FAULT ? FAULT : (b & 0x0F) << 2;
            }
        };
    }

    /** bpf_skb_load_helper_{8,16,32}: {@code size} bytes at {@code offset} from the network header, or FAULT. */
    private static long packet(PacketContext pkt, int offset, int size) {
        long from;
        long limit;
        if (offset >= 0) {
            from = offset;
            limit = pkt.length();
        } else if (offset >= SKF_NET_OFF) {
            from = offset - (long) SKF_NET_OFF;
            limit = pkt.length();
        } else if (offset >= SKF_LL_OFF) {
            if (pkt.macSource() == -1 || pkt.networkOffset() < ETH_HLEN) {
                return FAULT;
            }
            from = offset - (long) SKF_LL_OFF - ETH_HLEN;
            limit = pkt.length();
        } else {
            return FAULT;
        }
        if (from + size > limit) {
            return FAULT;
        }
        long v = 0;
        for (int i = 0; i < size; i++) {
            v = v << 8 | byteAt(pkt, from + i);
        }
        return v;
    }

    /** A byte at {@code at} from the network header; negative reaches into the link-layer header. */
    private static int byteAt(PacketContext pkt, long at) {
        return Byte.toUnsignedInt(pkt.segment().get(java.lang.foreign.ValueLayout.JAVA_BYTE, pkt.networkOffset() + at));
    }

    private static long ancillary(int which, int a, int x, PacketContext pkt) {
        return switch (which) {
            case SKF_AD_PROTOCOL -> pkt.family() == Family.IPV4 ? 0x0800 : 0x86DD;
            case SKF_AD_PKTTYPE -> pkt.packetType();
            case SKF_AD_IFINDEX, SKF_AD_HATYPE -> {
                String dev = device(pkt);
                if (dev.isEmpty()) {
                    yield FAULT;
                }
                var link = pkt.host().link(dev);
                if (link == null) {
                    yield FAULT;
                }
                if (which == SKF_AD_IFINDEX) {
                    yield link.index();
                }
                yield dev.equals("lo") ? ARPHRD_LOOPBACK : ARPHRD_ETHER;
            }
            case SKF_AD_MARK -> pkt.mark();
            case SKF_AD_QUEUE, SKF_AD_CPU, SKF_AD_VLAN_TAG, SKF_AD_VLAN_TAG_PRESENT, SKF_AD_VLAN_TPID -> 0;
            case SKF_AD_ALU_XOR_X -> ANCILLARY_XOR;
            case SKF_AD_RANDOM -> pkt.random().nextInt() & 0xFFFFFFFFL;
            case SKF_AD_PAY_OFFSET -> FlowDissection.payloadOffset(DISSECTION.get(), pkt);
            // Linux: the conversion reads skb->hash as it is; nothing before these hooks sets it here (no receive
            // side scaling, no hash from the NIC, no connected socket's txhash): 0
            case SKF_AD_RXHASH -> 0;
            case SKF_AD_NLATTR -> netlinkAttribute(pkt, a, x, false);
            case SKF_AD_NLATTR_NEST -> netlinkAttribute(pkt, a, x, true);
            default -> throw new IllegalStateException("bpf: ancillary load " + which + " passed the check");
        };
    }

    // Linux: sizeof(struct nlattr), NLA_TYPE_MASK (~(NLA_F_NESTED | NLA_F_NET_BYTEORDER))
    private static final int NLA_HDRLEN = 4;
    private static final int NLA_TYPE_MASK = 0x3FFF;

    /**
     * bpf_skb_get_nlattr (A = an offset in the packet, X = an attribute type): the packet from A read as netlink
     * attributes (nla_find: 16-bit length and type in host order, little-endian as on x86-64; each padded to 4
     * bytes; the walk ends at an attribute shorter than its header or longer than what is left), the offset of
     * the first of type X, or 0. bpf_skb_get_nlattr_nest: the attribute at A must fit (nla_ok) and the search runs
     * inside it. 0 for a packet shorter than an attribute header or A past its last one. (Linux answers 0 for a
     * non-linear skb too; packets here are linear.)
     */
    private static long netlinkAttribute(PacketContext pkt, int a, int x, boolean nested) {
        long len = pkt.length();
        long at = Integer.toUnsignedLong(a);
        if (len < NLA_HDRLEN || at > len - NLA_HDRLEN) {
            return 0;
        }
        long rem = len - at;
        if (nested) {
            int outer = u16le(pkt, at);
            if (outer < NLA_HDRLEN || outer > rem) {
                return 0;
            }
            rem = outer - NLA_HDRLEN;
            at += NLA_HDRLEN;
        }
        while (rem >= NLA_HDRLEN) {
            int nlaLen = u16le(pkt, at);
            if (nlaLen < NLA_HDRLEN || nlaLen > rem) {
                return 0;
            }
            if ((u16le(pkt, at + 2) & NLA_TYPE_MASK) == x) {
                return at;
            }
            int step = (nlaLen + 3) & ~3;
            at += step;
            rem -= step;
        }
        return 0;
    }

    private static int u16le(PacketContext pkt, long at) {
        return byteAt(pkt, at) | byteAt(pkt, at + 1) << 8;
    }

    private static final ThreadLocal<FlowDissection> DISSECTION = ThreadLocal.withInitial(FlowDissection::new);

    /**
     * {@code skb->dev} at the hook: the input device where the packet came in (PREROUTING, INPUT, FORWARD), the
     * output device in POSTROUTING, none in OUTPUT (ip_output sets it after that hook).
     */
    private static String device(PacketContext pkt) {
        Hook h = pkt.hook();
        if (h == Hook.POSTROUTING) {
            return pkt.outInterface();
        }
        if (h == Hook.OUTPUT) {
            return "";
        }
        return pkt.inInterface();
    }
}
