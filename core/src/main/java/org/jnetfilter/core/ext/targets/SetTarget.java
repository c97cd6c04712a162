package org.jnetfilter.core.ext.targets;

import java.util.List;
import org.jnetfilter.core.ext.ExtensionData;
import org.jnetfilter.core.ext.ExtensionParser;
import org.jnetfilter.core.ext.OptionParser;
import org.jnetfilter.core.ext.OptionSpec;
import org.jnetfilter.core.ext.ParseContext;
import org.jnetfilter.core.ext.TargetExtension;
import org.jnetfilter.core.ext.XtablesException;
import org.jnetfilter.core.ext.matches.IpsetNames;
import org.jnetfilter.core.ipset.IpSet;
import org.jnetfilter.core.ipset.Ipsets;
import org.jnetfilter.core.ipset.SetPackets;
import org.jnetfilter.core.netfilter.PacketContext;
import org.jnetfilter.core.netfilter.Verdict;
import org.jnetfilter.core.rules.Hook;
import org.jnetfilter.core.rules.IpSpec;

/**
 * {@code -j SET --add-set/--del-set/--map-set NAME FLAGS} (libxt_SET revision 3, xt_set set_target_v3).
 *
 * <p>Packet semantics: the packet's element is added to the add set ({@code --timeout} or the set's default,
 * refreshed when present only with {@code --exist}), deleted from the del set, and looked up in the map set,
 * whose element's skbinfo then sets the mark ({@code --map-mark}: (mark & ~mask) ^ value) and the priority
 * ({@code --map-prio}); {@code --map-queue} is accepted but changes nothing here (there is no device queue).
 * The target always continues. Sets are found by name on each packet (allocation-free); adding allocates
 * the new element.
 */
public final class SetTarget extends TargetExtension {
    static final OptionSpec ADD_SET = OptionSpec.withArg("add-set");
    static final OptionSpec DEL_SET = OptionSpec.withArg("del-set");
    static final OptionSpec EXIST = OptionSpec.flag("exist");
    static final OptionSpec TIMEOUT = OptionSpec.withArg("timeout");
    static final OptionSpec MAP_SET = OptionSpec.withArg("map-set");
    static final OptionSpec MAP_MARK = OptionSpec.flag("map-mark");
    static final OptionSpec MAP_PRIO = OptionSpec.flag("map-prio");
    static final OptionSpec MAP_QUEUE = OptionSpec.flag("map-queue");

    // Linux: IPSET_MAX_TIMEOUT; xt_set's "no timeout given" is UINT32_MAX
    static final long MAX_TIMEOUT = 2147483;
    static final long NO_TIMEOUT = 0xFFFFFFFFL;

    public SetTarget() {
        super("SET", List.of(ADD_SET, DEL_SET, EXIST, TIMEOUT, MAP_SET, MAP_MARK, MAP_PRIO, MAP_QUEUE));
    }

    /** The options; null sets are absent, {@code timeout} is {@link #NO_TIMEOUT} when not given. */
    public record Data(IpsetNames.Reference add, IpsetNames.Reference del, IpsetNames.Reference map, boolean exist,
            long timeout, boolean mapMark, boolean mapPrio, boolean mapQueue) implements ExtensionData {
        @Override
        public void save(StringBuilder out, IpSpec ip) {
            print(out, " --");
        }

        @Override
        public void list(StringBuilder out, IpSpec ip, boolean numeric) {
            print(out, " ");
        }

        private void print(StringBuilder out, String dash) {
            if (add != null) {
                out.append(dash).append("add-set ").append(add.name()).append(' ').append(add.flags());
                if (exist) {
                    out.append(dash).append("exist");
                }
                if (timeout != NO_TIMEOUT) {
                    out.append(dash).append("timeout ").append(timeout);
                }
            }
            if (del != null) {
                out.append(dash).append("del-set ").append(del.name()).append(' ').append(del.flags());
            }
            if (map != null) {
                out.append(dash).append("map-set ").append(map.name()).append(' ').append(map.flags());
                if (mapMark) {
                    out.append(dash).append("map-mark");
                }
                if (mapPrio) {
                    out.append(dash).append("map-prio");
                }
                if (mapQueue) {
                    out.append(dash).append("map-queue");
                }
            }
        }

        /** Linux: set_target_v3_checkentry: mapping only in mangle, prio and queue only on the way out. */
        @Override
        public void check(String table, int hookMask, IpSpec ip) {
            if (map == null) {
                return;
            }
            if (!table.equals("mangle")) {
                throw XtablesException.invalidArgument();
            }
            int out = Hook.FORWARD.bit() | Hook.OUTPUT.bit() | Hook.POSTROUTING.bit();
            if ((mapPrio || mapQueue) && (hookMask & ~out) != 0) {
                throw XtablesException.invalidArgument();
            }
        }

        @Override
        public int apply(PacketContext pkt) {
            Ipsets sets = Ipsets.current();
            if (add != null) {
                IpSet s = sets.get(add.name());
                if (s != null) {
                    // Linux: the timeout is capped to IPSET_MAX_TIMEOUT; none given means the set's default
                    long t = timeout == NO_TIMEOUT ? -1 : Math.min(timeout, MAX_TIMEOUT);
                    SetPackets.add(sets, s, pkt, add.dim(), add.srcBits(), exist ? SetPackets.FLAG_EXIST : 0, t);
                }
            }
            if (del != null) {
                IpSet s = sets.get(del.name());
                if (s != null) {
                    SetPackets.del(sets, s, pkt, del.dim(), del.srcBits());
                }
            }
            if (map != null) {
                IpSet s = sets.get(map.name());
                if (s != null) {
                    SetPackets.map(sets, s, pkt, map.dim(), map.srcBits(), mapMark, mapPrio);
                }
            }
            return Verdict.CONTINUE;
        }
    }

    @Override
    public ExtensionParser newParser(ParseContext ctx) {
        return new OptionParser(name()) {
            private IpsetNames.Reference add;
            private IpsetNames.Reference del;
            private IpsetNames.Reference map;
            private boolean exist;
            private long timeout = NO_TIMEOUT;
            private boolean mapMark;
            private boolean mapPrio;
            private boolean mapQueue;

            @Override
            public void parse(OptionSpec option, boolean invert, String arg, ParseContext c) {
                if (option == ADD_SET || option == DEL_SET || option == MAP_SET) {
                    boolean again = option == ADD_SET ? add != null : option == DEL_SET ? del != null : map != null;
                    if (again) {
                        throw XtablesException.parameter("--" + option.name() + " can be specified only once");
                    }
                    IpsetNames.Reference r = IpsetNames.reference(option.name(), arg, c);
                    if (option == ADD_SET) {
                        add = r;
                    } else if (option == DEL_SET) {
                        del = r;
                    } else {
                        map = r;
                    }
                } else if (option == EXIST) {
                    exist = true;
                } else if (option == TIMEOUT) {
                    long v = org.jnetfilter.core.ext.Numbers.parseUnsigned(arg, 0, NO_TIMEOUT - 1);
                    if (v < 0) {
                        throw XtablesException.parameter(
                                "Invalid value for option --timeout or out of range 0-" + (NO_TIMEOUT - 1));
                    }
                    timeout = v;
                } else if (option == MAP_MARK) {
                    mapMark = true;
                } else if (option == MAP_PRIO) {
                    mapPrio = true;
                } else if (option == MAP_QUEUE) {
                    mapQueue = true;
                }
                mark(option);
            }

            @Override
            public ExtensionData finish(ParseContext c) {
                if (add == null && del == null && map == null) {
                    throw XtablesException.parameter(
                            "You must specify either `--add-set' or `--del-set' or `--map-set'");
                }
                return new Data(add, del, map, exist, timeout, mapMark, mapPrio, mapQueue);
            }
        };
    }
}
