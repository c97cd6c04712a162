package org.jnetfilter.core.host;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import org.jnetfilter.core.rules.Family;
import org.jnetfilter.core.rules.IpNet;

/**
 * The HOST file of {@code jnf replay}: the commands that would build the host with iproute2, one a line,
 * without the leading {@code ip}, plus {@code sysctl name=value} lines, {@code modprobe} lines (br_netfilter, and
 * nf_conntrack_sip with its parameters: {@link ModuleParameters}) and {@code nfnl_osf -f FILE [-d]} lines (OS
 * fingerprints for the osf match, {@link OsfFingerprints}). {@code #} starts a comment.
 *
 * <pre>
 * link add eth0 address 02:00:00:00:00:01 mtu 1500
 * link set eth0 up
 * addr add 10.0.1.1/24 dev eth0
 * -6 addr add 2001:db8:1::1/64 dev eth0
 * route add default via 10.0.2.254 dev eth1 table 100 metric 10 src 10.0.2.1
 * route add blackhole 10.9.0.0/16
 * rule add fwmark 0x1/0xff table 100 priority 100
 * neigh add 10.0.2.2 lladdr 02:00:00:00:02:02 dev eth1
 * sysctl net.ipv4.ip_forward=1
 * modprobe nf_conntrack_sip sip_direct_media=0 sip_external_media=1 sip_timeout=600
 * nfnl_osf -f /usr/share/xtables/pf.os
 * ioam namespace add 123 data 0xdeadbeef wide 0x1122334455667788
 * ioam schema add 7 abcd
 * ioam namespace set 123 schema 7
 * </pre>
 *
 * <p>Lines apply in order to a fresh {@link Host}; the first line that cannot be parsed or applied ends the
 * read with a {@link HostFileException} naming the line, and no host is returned. Families follow iproute2:
 * {@code -4}/{@code -6} or the family of the first address on the line (IPv4 when there is none).
 */
public final class HostFile {
    private HostFile() {
    }

    public static Host read(Path path) throws IOException, HostFileException {
        return parse(path.toString(), Files.readString(path, StandardCharsets.UTF_8));
    }

    public static Host parse(String source, String text) throws HostFileException {
        return parse(source, text, false);
    }

    /**
     * A HOST file as {@code jnf replay} and {@code jnf trace} read it: it describes a running host, so each
     * link is up from the line that adds it (the example has no {@code link set up}); {@code link
     * set NAME down} still takes one down. {@link #parse} follows iproute2, where a new link is down.
     */
    public static Host readRunning(Path path) throws IOException, HostFileException {
        return parse(path.toString(), Files.readString(path, StandardCharsets.UTF_8), true);
    }

    public static Host parseRunning(String source, String text) throws HostFileException {
        return parse(source, text, true);
    }

    /**
     * One HOST line applied to {@code host} as it runs (a configuration change between packets); a link it adds is
     * up, as in {@link #parseRunning}. A line that cannot be parsed or applied ends in an {@link
     * IllegalArgumentException} with iproute2's message (options before the refused one stay applied).
     */
    public static void apply(Host host, String line) {
        Words words = new Words(line.strip().split("\\s+"));
        apply(host, words);
        if (words.w.length >= 3 && words.w[0].equals("link") && words.w[1].equals("add")) {
            host.setUp(host.links().get(host.links().size() - 1).name(), true);
        }
    }

    private static Host parse(String source, String text, boolean linksUp) throws HostFileException {
        Host host = new Host();
        String[] lines = text.split("\r?\n", -1);
        for (int i = 0; i < lines.length; i++) {
            String line = lines[i];
            int hash = line.indexOf('#');
            String body = (hash >= 0 ? line.substring(0, hash) : line).strip();
            if (body.isEmpty()) {
                continue;
            }
            try {
                Words words = new Words(body.split("\\s+"));
                apply(host, words);
                if (linksUp && words.w.length >= 3 && words.w[0].equals("link") && words.w[1].equals("add")) {
                    host.setUp(host.links().get(host.links().size() - 1).name(), true);
                }
            } catch (IllegalArgumentException e) {
                throw new HostFileException(source, i + 1, line, e.getMessage());
            }
        }
        return host;
    }

    /** The words of one line, consumed left to right. */
    private static final class Words {
        final String[] w;
        int at;

        Words(String[] w) {
            this.w = w;
        }

        boolean more() {
            return at < w.length;
        }

        String peek() {
            return more() ? w[at] : null;
        }

        String next(String what) {
            if (!more()) {
                throw new IllegalArgumentException("missing " + what);
            }
            return w[at++];
        }

        boolean take(String word) {
            if (more() && w[at].equals(word)) {
                at++;
                return true;
            }
            return false;
        }
    }

    /** {@code nfnl_osf -f FILE [-d]}: OS fingerprints in pf.os format loaded (or removed), the path as given. */
    private static void osf(Host host, Words w) {
        String file = null;
        boolean remove = false;
        while (w.more()) {
            String o = w.next("option");
            switch (o) {
                case "-f" -> file = w.next("fingerprints file");
                case "-d" -> remove = true;
                default -> throw new IllegalArgumentException("nfnl_osf: unknown option " + o
                        + " (usage: nfnl_osf -f fingerprints [-d])");
            }
        }
        if (file == null) {
            throw new IllegalArgumentException("nfnl_osf: no fingerprints file (usage: nfnl_osf -f fingerprints [-d])");
        }
        String text;
        try {
            text = Files.readString(Path.of(file), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new IllegalArgumentException("nfnl_osf: failed to open file '" + file + "': " + e.getMessage());
        }
        host.loadOsfFingerprints(text, remove);
    }

    private static boolean prefix(String word, String full, int min) {
        return word.length() >= min && full.startsWith(word);
    }

    private static void apply(Host host, Words w) {
        String first = w.next("command");
        if (first.equals("sysctl")) {
            sysctl(host, w);
            return;
        }
        if (first.equals("nfnl_osf")) {
            osf(host, w);
            return;
        }
        if (first.equals("modprobe")) {
            String module = w.next("module name");
            if (module.equals("br_netfilter") && !w.more()) {
                host.loadBridgeNetfilter();
                return;
            }
            if (!module.equals("nf_conntrack_sip")) {
                throw new IllegalArgumentException(
                        "modprobe: only `modprobe br_netfilter' and `modprobe nf_conntrack_sip PARAM=VALUE...' are "
                                + "modelled");
            }
            host.loadModule(module, Arrays.copyOfRange(w.w, w.at, w.w.length));
            return;
        }
        if (first.equals("bridge")) {
            bridge(host, w);
            return;
        }
        Family family = null;
        String object = first;
        while (object.startsWith("-")) {
            switch (object) {
                case "-4" -> family = Family.IPV4;
                case "-6" -> family = Family.IPV6;
                default -> throw new IllegalArgumentException("unknown option `" + object + "'");
            }
            object = w.next("object after " + object);
        }
        if (prefix(object, "link", 1)) {
            link(host, w);
        } else if (prefix(object, "address", 1) || object.equals("addr")) {
            address(host, w, family);
        } else if (prefix(object, "route", 1)) {
            route(host, w, family);
        } else if (prefix(object, "rule", 2)) {
            rule(host, w, family);
        } else if (prefix(object, "neighbour", 1) || prefix(object, "neighbor", 1)) {
            neighbour(host, w);
        } else if (object.equals("ioam")) {
            ioam(host.ioam6(), w);
        } else {
            throw new IllegalArgumentException("unknown object `" + object
                    + "' (expected link, addr, route, rule, neigh, ioam or sysctl)");
        }
    }

    /**
     * iproute2's {@code ip ioam}: {@code namespace add ID [data DATA32] [wide DATA64]}, {@code namespace del ID},
     * {@code schema add ID DATA}, {@code schema del ID}, {@code namespace set ID schema {ID|none}}; numbers as
     * strtoul takes them (decimal, 0x hex), a schema's data as the word's bytes.
     */
    private static void ioam(Ioam6 ioam, Words w) {
        String what = w.next("namespace or schema");
        String verb = w.next("add, del or set");
        switch (what + " " + verb) {
            case "namespace add" -> {
                int id = (int) ioamNumber(w.next("namespace id"), 0xFFFF);
                long data = Ioam6.U32_UNAVAILABLE;
                long wide = Ioam6.U64_UNAVAILABLE;
                while (w.more()) {
                    String k = w.next("option");
                    switch (k) {
                        case "data" -> data = ioamNumber(w.next("data"), 0xFFFFFFFFL);
                        case "wide" -> {
                            String t = w.next("wide data");
                            try {
                                wide = Long.parseUnsignedLong(strip0x(t), radix(t));
                            } catch (NumberFormatException e) {
                                throw new IllegalArgumentException("ioam: invalid number `" + t + "'");
                            }
                        }
                        default -> throw new IllegalArgumentException("ioam namespace add: unknown option `" + k
                                + "' (usage: ioam namespace add ID [ data DATA32 ] [ wide DATA64 ])");
                    }
                }
                ioam.addNamespace(id, data, wide);
            }
            case "namespace del" -> ioam.deleteNamespace((int) ioamNumber(w.next("namespace id"), 0xFFFF));
            case "namespace set" -> {
                int id = (int) ioamNumber(w.next("namespace id"), 0xFFFF);
                if (!w.next("schema").equals("schema")) {
                    throw new IllegalArgumentException("usage: ioam namespace set ID schema { ID | none }");
                }
                String sc = w.next("schema id or none");
                ioam.setSchema(id, sc.equals("none") ? -1 : (int) ioamNumber(sc, 0xFFFFFF));
            }
            case "schema add" -> {
                int id = (int) ioamNumber(w.next("schema id"), 0xFFFFFF);
                ioam.addSchema(id, w.next("schema data").getBytes(StandardCharsets.UTF_8));
            }
            case "schema del" -> ioam.deleteSchema((int) ioamNumber(w.next("schema id"), 0xFFFFFF));
            default -> throw new IllegalArgumentException("ioam: unknown command `" + what + " " + verb + "'");
        }
        if (w.more()) {
            throw new IllegalArgumentException("ioam: unexpected `" + w.next("word") + "'");
        }
    }

    private static long ioamNumber(String text, long max) {
        long v;
        try {
            v = Long.parseLong(strip0x(text), radix(text));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("ioam: invalid number `" + text + "'");
        }
        if (v < 0 || v > max) {
            throw new IllegalArgumentException("ioam: `" + text + "' out of range (0 to " + max + ")");
        }
        return v;
    }

    private static String strip0x(String text) {
        return text.startsWith("0x") || text.startsWith("0X") ? text.substring(2) : text;
    }

    private static int radix(String text) {
        return text.startsWith("0x") || text.startsWith("0X") ? 16 : 10;
    }

    private static void sysctl(Host host, Words w) {
        w.take("-w");
        w.take("-q");
        String rest = String.join(" ", Arrays.copyOfRange(w.w, w.at, w.w.length));
        int eq = rest.indexOf('=');
        if (eq <= 0) {
            throw new IllegalArgumentException("sysctl needs name=value");
        }
        host.sysctl(rest.substring(0, eq).strip(), rest.substring(eq + 1).strip());
    }

    private static void verb(Words w, String expected) {
        String v = w.next("command (" + expected + ")");
        if (!v.equals(expected) && !(expected.equals("add") && v.equals("a"))) {
            throw new IllegalArgumentException("unsupported command `" + v + "' (only `" + expected + "')");
        }
    }

    private static long mac(String text) {
        long mac = Link.parseMac(text);
        if (mac < 0) {
            throw new IllegalArgumentException("invalid MAC address `" + text + "'");
        }
        return mac;
    }

    private static int mtu(String text) {
        long v = number(text, "mtu");
        if (v < 68 || v > 65535) {
            throw new IllegalArgumentException("invalid mtu `" + text + "'");
        }
        return (int) v;
    }

    private static long number(String text, String what) {
        try {
            long v = text.startsWith("0x") || text.startsWith("0X") ? Long.parseLong(text.substring(2), 16)
                    : Long.parseLong(text);
            if (v < 0 || v > 0xFFFFFFFFL) {
                throw new NumberFormatException();
            }
            return v;
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("invalid " + what + " `" + text + "'");
        }
    }

    private static void link(Host host, Words w) {
        String verb = w.next("command (add or set)");
        if (verb.equals("add")) {
            w.take("dev");
            w.take("name");
            String name = w.next("interface name");
            long mac = -1;
            int mtu = 1500;
            boolean bridge = false;
            long ageing = Host.DEFAULT_AGEING_CENTISECONDS;
            int groupFwdMask = 0;
            Map<String, Boolean> nfCalls = new LinkedHashMap<>();
            while (w.more()) {
                String k = w.next("option");
                switch (k) {
                    case "address" -> mac = mac(w.next("MAC address"));
                    case "mtu" -> mtu = mtu(w.next("mtu"));
                    case "type" -> bridge = w.next("link type").equals("bridge");
                    case "ageing_time" -> {
                        if (!bridge) {
                            throw new IllegalArgumentException("ageing_time is an option of type bridge");
                        }
                        ageing = number(w.next("ageing_time"), "ageing_time");
                    }
                    case "stp_state" -> {
                        if (!bridge || !w.next("stp_state").equals("0")) {
                            throw new IllegalArgumentException("only stp_state 0 of type bridge is modelled (no STP)");
                        }
                    }
                    case "group_fwd_mask" -> {
                        if (!bridge) {
                            throw new IllegalArgumentException("group_fwd_mask is an option of type bridge");
                        }
                        groupFwdMask = groupFwdMask(w.next("group_fwd_mask"));
                    }
                    case "nf_call_iptables", "nf_call_ip6tables", "nf_call_arptables" -> {
                        if (!bridge) {
                            throw new IllegalArgumentException(k + " is an option of type bridge");
                        }
                        nfCalls.put(k.substring("nf_call_".length()), nfCall(k, w.next(k)));
                    }
                    default -> throw new IllegalArgumentException("unknown link option `" + k + "'");
                }
            }
            if (name.length() > 15 || name.isEmpty() || name.contains("/")) {
                throw new IllegalArgumentException("invalid interface name `" + name + "'");
            }
            // Linux eth_random_addr: a random locally administered unicast MAC; ours is derived from the
            // ifindex so a replay is repeatable.
            int index = host.links().size() + 1;
            if (bridge) {
                if ((groupFwdMask & Host.GROUP_FWD_RESTRICTED) != 0) {
                    throw new IllegalArgumentException("RTNETLINK answers: Invalid argument");
                }
                host.addBridge(name, mac, mtu, ageing);
                if (groupFwdMask != 0) {
                    host.setGroupFwdMask(name, groupFwdMask);
                }
                nfCalls.forEach((table, on) -> host.setBridgeNfCall(name, table, on));
            } else {
                host.addLink(name, mac >= 0 ? mac : 0x020000000000L | index, mtu);
            }
        } else if (verb.equals("set")) {
            w.take("dev");
            String name = w.next("interface name");
            if (host.link(name) == null) {
                throw new IllegalArgumentException("Cannot find device \"" + name + "\"");
            }
            if (!w.more()) {
                throw new IllegalArgumentException("nothing to set");
            }
            while (w.more()) {
                String k = w.next("option");
                switch (k) {
                    case "up" -> host.setUp(name, true);
                    case "down" -> host.setUp(name, false);
                    case "mtu" -> host.setMtu(name, mtu(w.next("mtu")));
                    case "address" -> host.setMac(name, mac(w.next("MAC address")));
                    case "master" -> host.setMaster(name, w.next("bridge"));
                    case "nomaster" -> host.setMaster(name, null);
                    case "type" -> linkType(host, name, w);
                    default -> throw new IllegalArgumentException("unknown link option `" + k + "'");
                }
            }
        } else {
            throw new IllegalArgumentException("unsupported command `" + verb + "' (link add or link set)");
        }
    }

    /**
     * {@code link set NAME type bridge_slave [hairpin on|off] [state N]} (N a number, iproute2's get_u8) or {@code
     * type bridge group_fwd_mask N}: the rest of the line.
     */
    private static void linkType(Host host, String name, Words w) {
        String type = w.next("link type");
        if (type.equals("bridge")) {
            if (!w.more()) {
                throw new IllegalArgumentException("only `type bridge [group_fwd_mask N] [nf_call_iptables N]"
                        + " [nf_call_ip6tables N] [nf_call_arptables N]' is modelled on link set");
            }
            while (w.more()) {
                String k = w.next("bridge option");
                switch (k) {
                    case "group_fwd_mask" -> host.setGroupFwdMask(name, groupFwdMask(w.next(k)));
                    case "nf_call_iptables", "nf_call_ip6tables", "nf_call_arptables" ->
                        host.setBridgeNfCall(name, k.substring("nf_call_".length()), nfCall(k, w.next(k)));
                    default -> throw new IllegalArgumentException("only `type bridge [group_fwd_mask N]"
                            + " [nf_call_iptables N] [nf_call_ip6tables N] [nf_call_arptables N]' is modelled on"
                            + " link set, not `" + k + "'");
                }
            }
            return;
        }
        if (!type.equals("bridge_slave") || !w.more()) {
            throw new IllegalArgumentException("only `type bridge_slave [hairpin on|off] [state N]' is modelled");
        }
        while (w.more()) {
            String k = w.next("bridge_slave option");
            switch (k) {
                case "hairpin" -> host.setHairpin(name, onOff(w.next("hairpin"), "hairpin"));
                case "state" -> {
                    String v = w.next("state");
                    long n = unsigned(v);
                    if (n < 0 || n > 255) {
                        throw new IllegalArgumentException("Error: argument \"" + v + "\" is wrong: state is invalid");
                    }
                    host.setPortState(name, (int) n);
                }
                default -> throw new IllegalArgumentException("only `type bridge_slave [hairpin on|off] [state N]' is"
                        + " modelled, not `" + k + "'");
            }
        }
    }

    /** iproute2's get_u8 for an nf_call_* option: any non-zero value turns the switch on. */
    private static boolean nfCall(String option, String text) {
        long n = unsigned(text);
        if (n < 0 || n > 255) {
            throw new IllegalArgumentException("Error: argument \"" + text + "\" is wrong: invalid " + option);
        }
        return n != 0;
    }

    /** iproute2's get_u16 for group_fwd_mask (decimal, 0x hex or 0 octal). */
    private static int groupFwdMask(String text) {
        long n = unsigned(text);
        if (n < 0 || n > 0xFFFF) {
            throw new IllegalArgumentException("Error: argument \"" + text + "\" is wrong: invalid group_fwd_mask");
        }
        return (int) n;
    }

    /** strtoul with base 0 over the whole word (decimal, 0x hex, 0 octal), or -1 when it is not such a number. */
    private static long unsigned(String text) {
        try {
            if (text.startsWith("0x") || text.startsWith("0X")) {
                return text.length() > 2 && text.length() <= 10 ? Long.parseLong(text.substring(2), 16) : -1;
            }
            if (text.length() > 1 && text.startsWith("0")) {
                return text.length() <= 12 ? Long.parseLong(text.substring(1), 8) : -1;
            }
            return !text.isEmpty() && text.length() <= 10 && Character.isDigit(text.charAt(0)) ? Long.parseLong(text)
                    : -1;
        } catch (NumberFormatException e) {
            return -1;
        }
    }

    /**
     * {@code bridge link set ... state S}: iproute2 takes a decimal number (kept to its low byte, as the u8 netlink
     * attribute keeps it) or a state's name.
     */
    private static int portState(String text) {
        if (!text.isEmpty() && text.chars().allMatch(Character::isDigit)) {
            try {
                return (int) (Long.parseLong(text) & 0xFF);
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("Error: invalid STP port state");
            }
        }
        int i = Link.PORT_STATES.indexOf(text);
        if (i < 0) {
            throw new IllegalArgumentException("Error: invalid STP port state");
        }
        return i;
    }

    /** {@code on|off} after {@code word} (iproute2's parse_on_off). */
    private static boolean onOff(String value, String word) {
        return switch (value) {
            case "on" -> true;
            case "off" -> false;
            default -> throw new IllegalArgumentException("Error: argument of \"" + word
                    + "\" must be \"on\" or \"off\", not \"" + value + "\"");
        };
    }

    /**
     * {@code bridge link set dev PORT [hairpin on|off] [state STATE]} and {@code bridge fdb add MAC dev PORT [master]
     * [static]}
     * (iproute2's bridge command); other bridge objects are not modelled.
     */
    private static void bridge(Host host, Words w) {
        String object = w.next("object (link or fdb)");
        if (object.equals("link")) {
            verb(w, "set");
            w.take("dev");
            String port = w.next("port");
            if (!w.more()) {
                throw new IllegalArgumentException("only `bridge link set dev PORT [hairpin on|off] [state STATE]' is"
                        + " modelled");
            }
            Boolean hairpin = null;
            int state = -1;
            while (w.more()) {
                String k = w.next("option");
                switch (k) {
                    case "hairpin" -> hairpin = onOff(w.next("hairpin"), "hairpin");
                    case "state" -> state = portState(w.next("state"));
                    default -> throw new IllegalArgumentException("only `bridge link set dev PORT [hairpin on|off]"
                            + " [state STATE]' is modelled, not `" + k + "'");
                }
            }
            Link l = host.link(port);
            if (l == null) {
                throw new IllegalArgumentException("Cannot find bridge device \"" + port + "\"");
            }
            if (state >= 0) {
                host.setPortState(port, state);
            }
            if (hairpin != null) {
                host.setHairpin(port, hairpin);
            }
        } else if (object.equals("fdb")) {
            verb(w, "add");
            long mac = mac(w.next("MAC address"));
            String dev = null;
            boolean local = true;
            while (w.more()) {
                String k = w.next("option");
                switch (k) {
                    case "dev" -> dev = w.next("device");
                    case "master" -> {
                    }
                    // iproute2: permanent unless told otherwise; permanent is a local entry in the bridge
                    case "permanent" -> local = true;
                    case "static" -> local = false;
                    default -> throw new IllegalArgumentException("unsupported fdb option `" + k
                            + "' (bridge fdb add MAC dev PORT [master] [static|permanent])");
                }
            }
            if (dev == null) {
                throw new IllegalArgumentException("Device and address are required arguments.");
            }
            host.addFdbEntry(mac, dev, local);
        } else {
            throw new IllegalArgumentException("unknown bridge object `" + object + "' (link or fdb)");
        }
    }

    /** {@code A[/P]}; without a prefix, a host address. */
    private static InterfaceAddress addressWithPrefix(String text, Family family) {
        int slash = text.indexOf('/');
        IpAddress a = IpAddress.parse(slash >= 0 ? text.substring(0, slash) : text);
        if (a == null) {
            throw new IllegalArgumentException("invalid address `" + text + "'");
        }
        if (family != null && a.family() != family) {
            throw new IllegalArgumentException("address `" + text + "' is not " + familyName(family));
        }
        int bits = a.family().addressBits();
        int prefix = bits;
        if (slash >= 0) {
            long p = number(text.substring(slash + 1), "prefix length");
            if (p > bits || text.substring(slash + 1).startsWith("0x")) {
                throw new IllegalArgumentException("invalid prefix length in `" + text + "'");
            }
            prefix = (int) p;
        }
        return new InterfaceAddress(a, prefix);
    }

    /** {@code brd +} the subnet's broadcast address, {@code brd -} none, else the address given (IPv4 only). */
    private static IpAddress broadcastAddress(String text, InterfaceAddress a, Family family) {
        if (text == null || family != Family.IPV4 || text.equals("-")) {
            return null;
        }
        if (text.equals("+")) {
            IpNet net = a.network();
            return IpAddress.ipv4((int) (net.lo() | (~net.maskLo() & 0xFFFFFFFFL)));
        }
        return address(text, family);
    }

    private static String familyName(Family f) {
        return f == Family.IPV4 ? "IPv4" : "IPv6";
    }

    private static IpAddress address(String text, Family family) {
        IpAddress a = IpAddress.parse(text);
        if (a == null || a.family() != family) {
            throw new IllegalArgumentException("invalid " + familyName(family) + " address `" + text + "'");
        }
        return a;
    }

    private static void address(Host host, Words w, Family family) {
        verb(w, "add");
        InterfaceAddress a = null;
        String dev = null;
        String broadcast = null;
        while (w.more()) {
            String k = w.next("option");
            switch (k) {
                case "dev" -> dev = w.next("device");
                case "local" -> a = addressWithPrefix(w.next("address"), family);
                case "brd", "broadcast" -> broadcast = w.next(k + " value");
                case "scope", "label" -> w.next(k + " value");
                case "nodad", "noprefixroute" -> {
                }
                default -> {
                    if (a != null) {
                        throw new IllegalArgumentException("unexpected `" + k + "'");
                    }
                    a = addressWithPrefix(k, family);
                }
            }
        }
        if (a == null) {
            throw new IllegalArgumentException("missing address");
        }
        if (dev == null) {
            throw new IllegalArgumentException("Not enough information: \"dev\" argument is required.");
        }
        host.addAddress(dev, a.address(), a.prefix(), broadcastAddress(broadcast, a, a.address().family()));
    }

    private static void route(Host host, Words w, Family given) {
        verb(w, "add");
        RouteType type = RouteType.UNICAST;
        String dstText = null;
        IpAddress via = null;
        String viaText = null;
        String dev = null;
        long table = Host.TABLE_MAIN;
        Long metric = null;
        String srcText = null;
        while (w.more()) {
            String k = w.next("option");
            switch (k) {
                case "via" -> viaText = w.next("gateway");
                case "dev", "oif" -> dev = w.next("device");
                case "table" -> {
                    String t = w.next("table");
                    table = Host.parseTable(t);
                    if (table < 0) {
                        throw new IllegalArgumentException("invalid table `" + t + "'");
                    }
                }
                case "metric", "preference", "priority" -> metric = number(w.next("metric"), "metric");
                case "src" -> srcText = w.next("source address");
                case "proto", "scope" -> w.next(k + " value");
                case "onlink" -> {
                }
                case "unicast", "local", "broadcast", "anycast", "multicast", "blackhole", "unreachable",
                        "prohibit", "throw" -> {
                    if (dstText != null || type != RouteType.UNICAST && !k.equals("unicast")) {
                        throw new IllegalArgumentException("unexpected `" + k + "'");
                    }
                    type = RouteType.valueOf(k.toUpperCase(java.util.Locale.ROOT));
                }
                case "to" -> dstText = w.next("destination");
                default -> {
                    if (dstText != null) {
                        throw new IllegalArgumentException("unexpected `" + k + "'");
                    }
                    dstText = k;
                }
            }
        }
        if (dstText == null) {
            throw new IllegalArgumentException("missing destination");
        }
        Family family = given;
        if (family == null) {
            for (String t : new String[] {dstText, viaText, srcText}) {
                if (t != null && !t.equals("default") && !t.equals("all")) {
                    family = t.indexOf(':') >= 0 ? Family.IPV6 : Family.IPV4;
                    break;
                }
            }
            family = family == null ? Family.IPV4 : family;
        }
        IpNet dst;
        if (dstText.equals("default") || dstText.equals("all")) {
            dst = IpNet.any(family);
        } else {
            InterfaceAddress a = addressWithPrefix(dstText, family);
            dst = a.network();
            // Linux: IPv4 refuses host bits beyond the prefix (fib_table_insert); IPv6 masks them.
            if (family == Family.IPV4 && !a.address().equals(new IpAddress(family, dst.hi(), dst.lo()))) {
                throw new IllegalArgumentException("Error: Invalid prefix for given prefix length (`" + dstText
                        + "').");
            }
        }
        if (viaText != null) {
            via = address(viaText, family);
            if (type.isError()) {
                throw new IllegalArgumentException("a " + type.word() + " route has no gateway");
            }
        }
        IpAddress src = srcText == null ? null : address(srcText, family);
        if (type == RouteType.UNICAST && via == null && dev == null) {
            throw new IllegalArgumentException("a route needs `via' or `dev'");
        }
        int m = metric != null ? metric.intValue() : family == Family.IPV6 ? Host.IP6_RT_PRIO_USER : 0;
        host.addRoute(new Route((int) table, type, dst, m, via, dev, src, false));
    }

    private static void rule(Host host, Words w, Family given) {
        verb(w, "add");
        String fromText = null;
        String toText = null;
        long mark = 0;
        long mask = 0;
        String iif = null;
        String oif = null;
        long table = -1;
        RouteType action = RouteType.UNICAST;
        Long priority = null;
        while (w.more()) {
            String k = w.next("option");
            switch (k) {
                case "from" -> fromText = w.next("source prefix");
                case "to" -> toText = w.next("destination prefix");
                case "fwmark" -> {
                    String t = w.next("fwmark");
                    int slash = t.indexOf('/');
                    mark = number(slash >= 0 ? t.substring(0, slash) : t, "fwmark");
                    mask = slash >= 0 ? number(t.substring(slash + 1), "fwmark mask") : 0xFFFFFFFFL;
                }
                case "iif", "dev" -> iif = w.next("input interface");
                case "oif" -> oif = w.next("output interface");
                case "table", "lookup" -> {
                    String t = w.next("table");
                    table = Host.parseTable(t);
                    if (table < 0) {
                        throw new IllegalArgumentException("invalid table `" + t + "'");
                    }
                }
                case "priority", "preference", "pref", "prio", "order" -> priority = number(w.next("priority"),
                        "priority");
                case "blackhole" -> action = RouteType.BLACKHOLE;
                case "unreachable" -> action = RouteType.UNREACHABLE;
                case "prohibit" -> action = RouteType.PROHIBIT;
                default -> throw new IllegalArgumentException("unknown rule option `" + k + "'");
            }
        }
        Family family = given;
        if (family == null) {
            for (String t : new String[] {fromText, toText}) {
                if (t != null && !t.equals("all")) {
                    family = t.indexOf(':') >= 0 ? Family.IPV6 : Family.IPV4;
                    break;
                }
            }
            family = family == null ? Family.IPV4 : family;
        }
        if (action == RouteType.UNICAST && table < 0) {
            throw new IllegalArgumentException("a rule needs `table N' or an action (blackhole, unreachable,"
                    + " prohibit)");
        }
        if (priority != null && priority > 0xFFFFFFFEL) {
            throw new IllegalArgumentException("invalid priority");
        }
        host.addRule(new PolicyRule(family, priority == null ? 0 : priority.intValue(), selector(fromText, family),
                selector(toText, family), mark & mask, mask, iif, oif, action, (int) Math.max(table, 0)),
                priority != null);
    }

    private static IpNet selector(String text, Family family) {
        if (text == null || text.equals("all")) {
            return IpNet.any(family);
        }
        return addressWithPrefix(text, family).network();
    }

    private static void neighbour(Host host, Words w) {
        verb(w, "add");
        IpAddress a = null;
        long mac = -1;
        String dev = null;
        while (w.more()) {
            String k = w.next("option");
            switch (k) {
                case "lladdr" -> mac = mac(w.next("MAC address"));
                case "dev" -> dev = w.next("device");
                case "nud" -> w.next("state");
                case "to" -> a = neighbourAddress(w.next("address"));
                default -> {
                    if (a != null) {
                        throw new IllegalArgumentException("unexpected `" + k + "'");
                    }
                    a = neighbourAddress(k);
                }
            }
        }
        if (a == null || mac < 0 || dev == null) {
            throw new IllegalArgumentException("neigh add needs an address, `lladdr MAC' and `dev D'");
        }
        host.addNeighbour(a, mac, dev);
    }

    private static IpAddress neighbourAddress(String text) {
        IpAddress a = IpAddress.parse(text);
        if (a == null) {
            throw new IllegalArgumentException("invalid address `" + text + "'");
        }
        return a;
    }
}
