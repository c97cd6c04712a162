package org.jnetfilter.core.ext;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Port names from /etc/services, as getservbyname and getservbyport find them for iptables
 * ({@code --dport ssh}, {@code -L}'s {@code dpt:ssh}).
 */
public final class Services {
    private static final Map<String, Integer> PORT_BY_NAME_PROTO = new HashMap<>();
    private static final Map<String, String> NAME_BY_PORT_PROTO = new HashMap<>();

    static {
        List<String> lines;
        try {
            Path f = Path.of("/etc/services");
            lines = Files.isReadable(f) ? Files.readAllLines(f) : List.of();
        } catch (IOException e) {
            lines = List.of();
        }
        for (String line : lines) {
            int hash = line.indexOf('#');
            String body = (hash >= 0 ? line.substring(0, hash) : line).trim();
            if (body.isEmpty()) {
                continue;
            }
            String[] f = body.split("\\s+");
            if (f.length < 2) {
                continue;
            }
            int slash = f[1].indexOf('/');
            if (slash < 0) {
                continue;
            }
            int port;
            try {
                port = Integer.parseInt(f[1].substring(0, slash));
            } catch (NumberFormatException e) {
                continue;
            }
            String proto = f[1].substring(slash + 1);
            NAME_BY_PORT_PROTO.putIfAbsent(port + "/" + proto, f[0]);
            PORT_BY_NAME_PROTO.putIfAbsent(f[0] + "/" + proto, port);
            for (int i = 2; i < f.length; i++) {
                PORT_BY_NAME_PROTO.putIfAbsent(f[i] + "/" + proto, port);
            }
        }
    }

    private Services() {
    }

    /** getservbyname(name, proto); proto null means any protocol (tcp first, as glibc's file order has it). */
    public static int port(String name, String proto) {
        if (proto != null) {
            Integer p = PORT_BY_NAME_PROTO.get(name + "/" + proto);
            return p == null ? -1 : p;
        }
        for (String pr : new String[] {"tcp", "udp", "sctp", "dccp"}) {
            Integer p = PORT_BY_NAME_PROTO.get(name + "/" + pr);
            if (p != null) {
                return p;
            }
        }
        return -1;
    }

    /** getservbyport(port, proto), or null. */
    public static String name(int port, String proto) {
        return NAME_BY_PORT_PROTO.get(port + "/" + proto);
    }
}
