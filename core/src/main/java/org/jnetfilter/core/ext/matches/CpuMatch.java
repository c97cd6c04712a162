package org.jnetfilter.core.ext.matches;

import java.util.List;
import org.jnetfilter.core.ext.ExtensionData;
import org.jnetfilter.core.ext.ExtensionParser;
import org.jnetfilter.core.ext.MatchExtension;
import org.jnetfilter.core.ext.OptionParser;
import org.jnetfilter.core.ext.OptionSpec;
import org.jnetfilter.core.ext.ParseContext;
import org.jnetfilter.core.netfilter.PacketContext;
import org.jnetfilter.core.rules.IpSpec;

/**
 * {@code -m cpu} (libxt_cpu, xt_cpu): the CPU handling the packet. jnetfilter walks tables in userspace with no
 * notion of the CPU a packet was received on, so every packet is taken as handled by CPU 0.
 */
public final class CpuMatch extends MatchExtension {
    static final OptionSpec CPU = OptionSpec.withArg("cpu");

    public CpuMatch() {
        super("cpu", List.of(CPU));
    }

    public record Data(long cpu, boolean invert) implements ExtensionData {
        /** xt_cpu cpu_mt: {@code (cpu == smp_processor_id()) ^ invert}, with the processor always 0 here. */
        @Override
        public boolean matches(PacketContext pkt) {
            return (cpu == 0) != invert;
        }

        @Override
        public void save(StringBuilder out, IpSpec ip) {
            out.append(invert ? " ! --cpu " : " --cpu ").append(cpu);
        }

        @Override
        public void list(StringBuilder out, IpSpec ip, boolean numeric) {
            out.append(invert ? " cpu ! " : " cpu ").append(cpu);
        }
    }

    @Override
    public ExtensionParser newParser(ParseContext ctx) {
        return new OptionParser(name()) {
            private long cpu;
            private boolean invert;

            @Override
            public void parse(OptionSpec option, boolean inv, String arg, ParseContext c) {
                once(option);
                cpu = uint(option, arg, 0, 0xFFFFFFFFL);
                invert = inv;
            }

            @Override
            public ExtensionData finish(ParseContext c) {
                mandatory("cpu");
                return new Data(cpu, invert);
            }
        };
    }
}
