package org.jnetfilter.cli;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.jnetfilter.core.host.IpAddress;
import org.jnetfilter.core.rules.Chain;
import org.jnetfilter.core.rules.Family;
import org.jnetfilter.core.rules.IpNet;
import org.jnetfilter.core.rules.IpSpec;
import org.jnetfilter.core.rules.Rule;
import org.jnetfilter.core.rules.Ruleset;
import org.jnetfilter.core.rules.Table;

/**
 * The host {@code jnf trace} assumes when none is given: the smallest node on which the packet makes sense,
 * written as a HOST file so that it can be shown, copied and edited.
 *
 * <ul>
 * <li>A node forwards (ip_forward=1, IPv6 forwarding), as Kubernetes and Docker nodes do.
 * <li>A packet from outside arrives on its {@code in} interface. When its source and destination share a
 *     /24 (a /64 for IPv6) the destination is the node's own address on that interface (a client on the
 *     node's LAN talking to the node, a NodePort); otherwise the node has an address of the source's subnet
 *     there and its default route leads out of the same interface, to a gateway of that subnet.
 * <li>A locally generated packet ({@code in @local}) comes from the node's address on its {@code out}
 *     interface (else eth0), with the default route out of it.
 * <li>An {@code out} interface other than {@code in} holds the destination's subnet.
 * <li>Every concrete interface named by a rule ({@code -i}/{@code -o}, not a {@code +} pattern) exists; when
 *     a rule ties it to a prefix ({@code -o IF -d NET}, {@code -i IF -s NET}, Docker's {@code -s NET ! -o
 *     IF}), it holds the first address of that prefix: docker0 gets 172.17.0.1/16 from Docker's MASQUERADE
 *     rule.
 * </ul>
 */
final class DerivedHost {
    private DerivedHost() {
    }

    static String forPacket(PacketSpec p, List<Ruleset> rulesets) {
        List<String> lines = new ArrayList<>();
        Map<String, String> addressByLink = new LinkedHashMap<>();
        boolean v6 = p.family() == Family.IPV6;
        String plen = v6 ? "/64" : "/24";
        lines.add("sysctl net.ipv4.ip_forward=1");
        lines.add("sysctl net.ipv6.conf.all.forwarding=1");
        if (p.locallyGenerated()) {
            String dev = p.out().isEmpty() ? "eth0" : p.out();
            addressByLink.put(dev, p.source().text() + plen);
            String gw = gateway(p.source(), p.destination());
            addressByLink.put(dev + "#route", "route add default via " + gw + " dev " + dev);
        } else {
            String dev = p.in().isEmpty() ? "eth0" : p.in();
            if (sameSubnet(p.source(), p.destination())) {
                addressByLink.put(dev, p.destination().text() + plen);
            } else {
                addressByLink.put(dev, hostAddress(p.source(), p.source(), p.source()).text() + plen);
                addressByLink.put(dev + "#route", "route add default via " + gateway(p.source(), p.destination()) + " dev " + dev);
            }
            if (!p.out().isEmpty() && !p.out().equals(dev)) {
                addressByLink.put(p.out(), hostAddress(p.destination(), p.destination(), p.source()).text() + plen);
            }
        }
        Map<String, IpNet> fromRules = interfacesOfRules(rulesets, p.family());
        for (Map.Entry<String, IpNet> e : fromRules.entrySet()) {
            if (addressByLink.containsKey(e.getKey())) {
                continue;
            }
            IpNet net = e.getValue();
            if (net == null) {
                addressByLink.put(e.getKey(), null);
            } else {
                IpAddress first = new IpAddress(net.family(), net.hi(), net.lo() + 1);
                addressByLink.put(e.getKey(), first.text() + "/" + net.prefixLength());
            }
        }
        List<String> routes = new ArrayList<>();
        for (Map.Entry<String, String> e : addressByLink.entrySet()) {
            if (e.getKey().endsWith("#route")) {
                routes.add(e.getValue());
                continue;
            }
            lines.add("link add " + e.getKey());
            if (e.getValue() != null) {
                lines.add("addr add " + e.getValue() + " dev " + e.getKey());
            }
        }
        lines.addAll(routes);
        return String.join("\n", lines) + "\n";
    }

    private static boolean sameSubnet(IpAddress a, IpAddress b) {
        IpNet net = a.net(a.family() == Family.IPV6 ? 64 : 24);
        return net.contains(b.hi(), b.lo()) && !a.equals(b);
    }

    /** .1 of the subnet of {@code in} (::1 for IPv6), or .2 when that is taken by one of the others. */
    private static IpAddress hostAddress(IpAddress in, IpAddress avoid1, IpAddress avoid2) {
        IpNet net = in.net(in.family() == Family.IPV6 ? 64 : 24);
        for (long host = 1; ; host++) {
            IpAddress a = new IpAddress(in.family(), net.hi(), net.lo() + host);
            if (!a.equals(avoid1) && !a.equals(avoid2)) {
                return a;
            }
        }
    }

    /** .254 of the subnet of {@code in} (::fe for IPv6), stepping down past the packet's addresses. */
    private static String gateway(IpAddress in, IpAddress other) {
        IpNet net = in.net(in.family() == Family.IPV6 ? 64 : 24);
        for (long host = 254; ; host--) {
            IpAddress a = new IpAddress(in.family(), net.hi(), net.lo() + host);
            if (!a.equals(in) && !a.equals(other)) {
                return a.text();
            }
        }
    }

    /** Concrete interface names of the rules, each with the prefix a rule ties it to, or null. */
    private static Map<String, IpNet> interfacesOfRules(List<Ruleset> rulesets, Family family) {
        Map<String, IpNet> netByName = new LinkedHashMap<>();
        for (Ruleset rs : rulesets) {
            if (rs == null) {
                continue;
            }
            for (Table t : rs.tables()) {
                for (Chain c : t.chains()) {
                    for (int i = 0; i < c.rules().size(); i++) {
                        Rule r = c.rules().get(i);
                        IpSpec ip = r.ip();
                        note(netByName, ip.inIface(), ip.src(), !ip.inverted(IpSpec.INV_VIA_IN) && !ip.inverted(IpSpec.INV_SRCIP), family);
                        boolean dockerMasquerade = ip.inverted(IpSpec.INV_VIA_OUT) && !ip.inverted(IpSpec.INV_SRCIP);
                        note(netByName, ip.outIface(), dockerMasquerade ? ip.src() : ip.dst(),
                                dockerMasquerade || !ip.inverted(IpSpec.INV_VIA_OUT) && !ip.inverted(IpSpec.INV_DSTIP), family);
                    }
                }
            }
        }
        return netByName;
    }

    private static void note(Map<String, IpNet> netByName, String name, IpNet net, boolean tied, Family family) {
        if (name.isEmpty() || name.endsWith("+") || name.equals("lo")) {
            return;
        }
        int len = net.prefixLength();
        boolean usable = tied && net.family() == family && !net.isAny()
                && (family == Family.IPV4 ? len >= 8 && len <= 30 : len >= 16 && len <= 126);
        if (usable && netByName.get(name) == null) {
            netByName.put(name, net);
        } else {
            netByName.putIfAbsent(name, null);
        }
    }
}
