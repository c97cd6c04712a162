package org.jnetfilter.core.ext;

import java.util.List;
import org.jnetfilter.core.ext.matches.AddrtypeMatch;
import org.jnetfilter.core.ext.matches.DevgroupMatch;
import org.jnetfilter.core.ext.matches.DscpMatch;
import org.jnetfilter.core.ext.matches.EcnMatch;
import org.jnetfilter.core.ext.matches.HlMatch;
import org.jnetfilter.core.ext.matches.IprangeMatch;
import org.jnetfilter.core.ext.matches.LengthMatch;
import org.jnetfilter.core.ext.matches.MacMatch;
import org.jnetfilter.core.ext.matches.OwnerMatch;
import org.jnetfilter.core.ext.matches.PhysdevMatch;
import org.jnetfilter.core.ext.matches.PkttypeMatch;
import org.jnetfilter.core.ext.matches.TosMatch;
import org.jnetfilter.core.ext.matches.TtlMatch;
import org.jnetfilter.core.ext.targets.DscpTarget;
import org.jnetfilter.core.ext.targets.EcnTarget;
import org.jnetfilter.core.ext.targets.HlTarget;
import org.jnetfilter.core.ext.targets.TcpmssTarget;
import org.jnetfilter.core.ext.targets.TcpoptstripTarget;
import org.jnetfilter.core.ext.targets.TosTarget;
import org.jnetfilter.core.ext.targets.TtlTarget;

/**
 * Registry group: tos, TOS, dscp, DSCP, ecn, ECN, ttl, TTL, hl, HL, TCPMSS, TCPOPTSTRIP, addrtype, iprange,
 * length, mac, pkttype, owner, physdev.
 */
final class HeaderFieldExtensions {
    private HeaderFieldExtensions() {
    }

    static List<Extension> all() {
        return List.of(
                new TosMatch(), new TosTarget(),
                new DscpMatch(), new DscpTarget(),
                new EcnMatch(), new EcnTarget(),
                new TtlMatch(), new TtlTarget(),
                new HlMatch(), new HlTarget(),
                new TcpmssTarget(), new TcpoptstripTarget(),
                new AddrtypeMatch(), new IprangeMatch(), new LengthMatch(), new MacMatch(), new PkttypeMatch(),
                new OwnerMatch(), new PhysdevMatch(), new DevgroupMatch()
        );
    }
}
