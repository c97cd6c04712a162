package org.jnetfilter.core.ext;

import java.util.List;
import org.jnetfilter.core.ext.matches.ClusterMatch;
import org.jnetfilter.core.ext.matches.ConnbytesMatch;
import org.jnetfilter.core.ext.matches.ConnlabelMatch;
import org.jnetfilter.core.ext.matches.ConnlimitMatch;
import org.jnetfilter.core.ext.matches.ConnmarkMatch;
import org.jnetfilter.core.ext.matches.HelperMatch;
import org.jnetfilter.core.ext.matches.IpvsMatch;
import org.jnetfilter.core.ext.matches.ConntrackMatch;
import org.jnetfilter.core.ext.matches.MarkMatch;
import org.jnetfilter.core.ext.matches.StateMatch;
import org.jnetfilter.core.ext.targets.ConnmarkTarget;
import org.jnetfilter.core.ext.targets.ConnsecmarkTarget;
import org.jnetfilter.core.ext.targets.CtTarget;
import org.jnetfilter.core.ext.targets.HmarkTarget;
import org.jnetfilter.core.ext.targets.MarkTarget;
import org.jnetfilter.core.ext.targets.NotrackTarget;
import org.jnetfilter.core.ext.targets.SecmarkTarget;
import org.jnetfilter.core.ext.targets.TraceTarget;

/** Registry group: conntrack, state, connmark, CONNMARK, mark, MARK, CT, NOTRACK, connbytes, connlimit, connlabel, ... */
final class ConntrackExtensions {
    private ConntrackExtensions() {
    }

    static List<Extension> all() {
        return List.of(
                new ConntrackMatch(),
                new StateMatch(),
                new MarkMatch(),
                new ConnmarkMatch(),
                new ConnbytesMatch(),
                new ConnlimitMatch(),
                new ConnlabelMatch(),
                new HelperMatch(),
                new IpvsMatch(),
                new ClusterMatch(),
                new MarkTarget(),
                new ConnmarkTarget(),
                new CtTarget(),
                new NotrackTarget(),
                new TraceTarget(),
                new ConnsecmarkTarget(),
                new SecmarkTarget(),
                new HmarkTarget()
        );
    }
}
