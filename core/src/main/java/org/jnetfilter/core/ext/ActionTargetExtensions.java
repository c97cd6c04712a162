package org.jnetfilter.core.ext;

import java.util.List;
import org.jnetfilter.core.ext.targets.AuditTarget;
import org.jnetfilter.core.ext.targets.ChecksumTarget;
import org.jnetfilter.core.ext.targets.ClassifyTarget;
import org.jnetfilter.core.ext.targets.ClusteripTarget;
import org.jnetfilter.core.ext.targets.DnatTarget;
import org.jnetfilter.core.ext.targets.DnptTarget;
import org.jnetfilter.core.ext.targets.IdletimerTarget;
import org.jnetfilter.core.ext.targets.LedTarget;
import org.jnetfilter.core.ext.targets.LogTarget;
import org.jnetfilter.core.ext.targets.MasqueradeTarget;
import org.jnetfilter.core.ext.targets.NetmapTarget;
import org.jnetfilter.core.ext.targets.NflogTarget;
import org.jnetfilter.core.ext.targets.NfqueueTarget;
import org.jnetfilter.core.ext.targets.RedirectTarget;
import org.jnetfilter.core.ext.targets.RejectTarget;
import org.jnetfilter.core.ext.targets.SnatTarget;
import org.jnetfilter.core.ext.targets.SnptTarget;
import org.jnetfilter.core.ext.targets.SynproxyTarget;
import org.jnetfilter.core.ext.targets.TeeTarget;
import org.jnetfilter.core.ext.targets.TproxyTarget;
import org.jnetfilter.core.ext.targets.UlogTarget;

/** Registry group: REJECT, LOG, NFLOG, NFQUEUE, SNAT, DNAT, MASQUERADE, REDIRECT, NETMAP, TPROXY, TEE, ... */
final class ActionTargetExtensions {
    private ActionTargetExtensions() {
    }

    static List<Extension> all() {
        return List.of(
                new RejectTarget(),
                new LogTarget(),
                new NflogTarget(),
                new NfqueueTarget(),
                new SnatTarget(),
                new DnatTarget(),
                new MasqueradeTarget(),
                new RedirectTarget(),
                new NetmapTarget(),
                new TproxyTarget(),
                new TeeTarget(),
                new SnptTarget(),
                new DnptTarget(),
                new AuditTarget(),
                new LedTarget(),
                new IdletimerTarget(),
                new SynproxyTarget(),
                new ChecksumTarget(),
                new ClassifyTarget(),
                new ClusteripTarget(),
                new UlogTarget());
    }
}
