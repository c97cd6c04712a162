package org.jnetfilter.core.ext.matches;

import java.util.ArrayList;
import java.util.List;
import org.jnetfilter.core.ext.ExtensionData;
import org.jnetfilter.core.ext.ExtensionParser;
import org.jnetfilter.core.ext.MatchExtension;
import org.jnetfilter.core.ext.Numbers;
import org.jnetfilter.core.ext.OptionParser;
import org.jnetfilter.core.ext.OptionSpec;
import org.jnetfilter.core.ext.ParseContext;
import org.jnetfilter.core.bpf.ClassicBpf;
import org.jnetfilter.core.bpf.ClassicBpf.Insn;
import org.jnetfilter.core.ext.XtablesException;
import org.jnetfilter.core.netfilter.PacketContext;
import org.jnetfilter.core.rules.IpSpec;

/**
 * {@code -m bpf --bytecode "N,code jt jf k,..."} (libxt_bpf, xt_bpf revision 0): a classic BPF program as
 * {@code nfbpf_compile} prints it; instructions kept as {code, jt, jf, k}.
 *
 * <p>Packet semantics, bpf_mt: the packet matches when the program, run over it from the network header
 * ({@link ClassicBpf#run}), returns anything but 0. Pinned eBPF objects ({@code --object-pinned}, revision 1)
 * cannot exist here: parsing refuses them. Packet thread; allocates nothing.
 */
public final class BpfMatch extends MatchExtension {
    static final OptionSpec BYTECODE = OptionSpec.withArg("bytecode");
    static final OptionSpec OBJECT_PINNED = OptionSpec.withArg("object-pinned");

    // Linux: XT_BPF_MAX_NUM_INSTR = 64
    static final int MAX_INSTR = 64;

    public BpfMatch() {
        super("bpf", List.of(BYTECODE, OBJECT_PINNED));
    }

    public record Data(List<Insn> program) implements ExtensionData {
        public Data {
            program = List.copyOf(program);
        }

        @Override
        public boolean matches(PacketContext pkt) {
            return ClassicBpf.run(program, pkt) != 0;
        }

        /** The kernel's classic BPF check (bpf_check_classic): known opcodes and the operands' limits. */
        @Override
        public void check(String table, int hookMask, IpSpec ip) {
            for (Insn n : program) {
                if (!VALID_CODES.contains(n.code())) {
                    throw XtablesException.invalidArgument();
                }
            }
            if (ClassicBpf.refusal(program) != null) {
                throw XtablesException.invalidArgument();
            }
        }

        @Override
        public void save(StringBuilder out, IpSpec ip) {
            out.append(" --bytecode \"").append(program.size()).append(',');
            appendCode(out, '"');
        }

        /** bpf_mt_print writes "match bpf " without a leading space and ends with a NUL byte. */
        @Override
        public void list(StringBuilder out, IpSpec ip, boolean numeric) {
            out.append("match bpf ");
            appendCode(out, '\0');
        }

        private void appendCode(StringBuilder out, char tail) {
            for (int i = 0; i < program.size(); i++) {
                Insn n = program.get(i);
                out.append(n.code()).append(' ').append(n.jt()).append(' ').append(n.jf()).append(' ').append(n.k())
                        .append(i + 1 < program.size() ? ',' : tail);
            }
        }
    }

    // Linux: the classic BPF opcodes bpf_check_classic accepts (LD, LDX, ST, STX, ALU, JMP, RET, MISC); not
    // RET | X (0x0e): checked on Linux 6.18, a program with it anywhere is refused
    static final java.util.Set<Integer> VALID_CODES = java.util.Set.of(0x20, 0x28, 0x30, 0x40, 0x48, 0x50, 0x80,
            0x00, 0x60, 0x01, 0x61, 0x81, 0xb1, 0x02, 0x03, 0x04, 0x0c, 0x14, 0x1c, 0x24, 0x2c, 0x34, 0x3c, 0x44,
            0x4c, 0x54, 0x5c, 0x64, 0x6c, 0x74, 0x7c, 0x84, 0x94, 0x9c, 0xa4, 0xac, 0x05, 0x15, 0x1d, 0x25, 0x2d,
            0x35, 0x3d, 0x45, 0x4d, 0x06, 0x16, 0x07, 0x87);

    static List<Insn> parseProgram(String text) {
        int comma = text.indexOf(',');
        long len = Numbers.parseStrtoul(comma >= 0 ? text.substring(0, comma) : text);
        if (comma < 0 || len < 0) {
            throw XtablesException.parameter("bpf: error parsing program length");
        }
        if (len == 0) {
            throw XtablesException.parameter("bpf: illegal zero length program");
        }
        if (len > MAX_INSTR) {
            throw XtablesException.parameter("bpf: number of instructions exceeds maximum");
        }
        List<Insn> prog = new ArrayList<>();
        String[] parts = text.substring(comma + 1).split(",", -1);
        for (String p : parts) {
            if (prog.size() == len) {
                throw XtablesException.parameter("bpf: real program length exceeds the encoded length parameter");
            }
            String[] f = p.strip().split("\\s+");
            if (f.length < 4) {
                throw XtablesException.parameter("bpf: error at instr " + prog.size());
            }
            long code = Numbers.parseStrtoul(f[0]);
            long jt = Numbers.parseStrtoul(f[1]);
            long jf = Numbers.parseStrtoul(f[2]);
            long k = Numbers.parseStrtoul(f[3]);
            if (code < 0 || jt < 0 || jf < 0 || k < 0) {
                throw XtablesException.parameter("bpf: error at instr " + prog.size());
            }
            prog.add(new Insn((int) (code & 0xFFFF), (int) (jt & 0xFF), (int) (jf & 0xFF), k & 0xFFFFFFFFL));
        }
        if (prog.size() != len) {
            throw XtablesException.parameter("bpf: parsed program length is less than the encoded length parameter");
        }
        return prog;
    }

    @Override
    public ExtensionParser newParser(ParseContext ctx) {
        return new OptionParser(name()) {
            private List<Insn> program;

            @Override
            public void parse(OptionSpec option, boolean inv, String arg, ParseContext c) {
                plain(option, inv);
                if (option == OBJECT_PINNED) {
                    throw XtablesException.parameter("bpf: failed to retrieve object from pinned file: " + arg);
                }
                program = parseProgram(arg);
            }

            @Override
            public ExtensionData finish(ParseContext c) {
                if (program == null) {
                    throw XtablesException.parameter("bpf: one of --bytecode or --pinned is required");
                }
                return new Data(program);
            }
        };
    }
}
