package org.jnetfilter.core.ext;

import java.util.List;
import org.jnetfilter.core.ext.matches.AhMatch;
import org.jnetfilter.core.ext.matches.DstMatch;
import org.jnetfilter.core.ext.matches.Eui64Match;
import org.jnetfilter.core.ext.matches.FragMatch;
import org.jnetfilter.core.ext.matches.HbhMatch;
import org.jnetfilter.core.ext.matches.Ipv6headerMatch;
import org.jnetfilter.core.ext.matches.MhMatch;
import org.jnetfilter.core.ext.matches.RtMatch;
import org.jnetfilter.core.ext.matches.SrhMatch;
import org.jnetfilter.core.ext.matches.DccpMatch;
import org.jnetfilter.core.ext.matches.EspMatch;
import org.jnetfilter.core.ext.matches.Icmp6Match;
import org.jnetfilter.core.ext.matches.IcmpMatch;
import org.jnetfilter.core.ext.matches.IpcompMatch;
import org.jnetfilter.core.ext.matches.MultiportMatch;
import org.jnetfilter.core.ext.matches.SctpMatch;
import org.jnetfilter.core.ext.matches.TcpmssMatch;

/** Registry group: sctp, dccp, multiport, icmp, icmp6, esp, ah, ipcomp, IPv6 extension headers, ... */
final class ProtocolExtensions {
    private ProtocolExtensions() {
    }

    static List<Extension> all() {
        return List.of(
                new SctpMatch(),
                new DccpMatch(),
                new MultiportMatch(),
                new IcmpMatch(),
                new Icmp6Match(),
                // xtables_find_match finds icmp6 under the names -p gives ICMPv6
                new Icmp6Match("icmpv6"),
                new Icmp6Match("ipv6-icmp"),
                new EspMatch(),
                new AhMatch(),
                new IpcompMatch(),
                new TcpmssMatch(),
                new MhMatch(),
                new FragMatch(),
                new RtMatch(),
                new HbhMatch(),
                new DstMatch(),
                new SrhMatch(),
                new Ipv6headerMatch(),
                new Eui64Match()
        );
    }
}
