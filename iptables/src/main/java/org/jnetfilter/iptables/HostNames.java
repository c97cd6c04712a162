package org.jnetfilter.iptables;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.jnetfilter.core.ext.Addresses;
import org.jnetfilter.core.rules.Family;
import org.jnetfilter.core.rules.IpNet;

/**
 * Names for addresses in non-numeric listings, as xtables_ipaddr_to_anyname finds them: a host name from
 * /etc/hosts (gethostbyaddr), else a network name from /etc/networks (getnetbyaddr), else the number.
 * jnetfilter does no DNS: a listing must not wait on the network.
 */
final class HostNames {
    private static final Map<String, String> HOST_BY_ADDRESS = new HashMap<>();
    private static final Map<Long, String> NETWORK_BY_NUMBER = new HashMap<>();

    static {
        for (String line : read("/etc/hosts")) {
            String[] f = fields(line);
            if (f.length >= 2) {
                long v4 = f[0].indexOf(':') < 0 && f[0].split("\\.").length == 4 ? Addresses.parseIpv4(f[0]) : -1;
                if (v4 >= 0) {
                    HOST_BY_ADDRESS.putIfAbsent("4/" + v4, f[1]);
                } else {
                    long[] v6 = Addresses.parseIpv6(f[0]);
                    if (v6 != null) {
                        HOST_BY_ADDRESS.putIfAbsent("6/" + v6[0] + "/" + v6[1], f[1]);
                    }
                }
            }
        }
        for (String line : read("/etc/networks")) {
            String[] f = fields(line);
            if (f.length >= 2) {
                long n = Addresses.parseIpv4(f[1]);
                if (n >= 0) {
                    NETWORK_BY_NUMBER.putIfAbsent(n, f[0]);
                }
            }
        }
    }

    private HostNames() {
    }

    private static List<String> read(String file) {
        try {
            Path p = Path.of(file);
            return Files.isReadable(p) ? Files.readAllLines(p) : List.of();
        } catch (IOException e) {
            return List.of();
        }
    }

    private static String[] fields(String line) {
        int hash = line.indexOf('#');
        String body = (hash >= 0 ? line.substring(0, hash) : line).trim();
        return body.isEmpty() ? new String[0] : body.split("\\s+");
    }

    /** The address part of a -L column: a name, or the number. */
    static String anyName(IpNet net) {
        if (net.family() == Family.IPV4) {
            String h = HOST_BY_ADDRESS.get("4/" + net.lo());
            if (h != null) {
                return h;
            }
            String n = NETWORK_BY_NUMBER.get(net.lo());
            if (n != null && net.lo() != 0) {
                return n;
            }
            return net.addressText();
        }
        String h = HOST_BY_ADDRESS.get("6/" + net.hi() + "/" + net.lo());
        return h != null ? h : net.addressText();
    }
}
