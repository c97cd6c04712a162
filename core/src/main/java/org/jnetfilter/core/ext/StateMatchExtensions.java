package org.jnetfilter.core.ext;

import java.util.List;

/** Registry group: limit, hashlimit, recent, quota, statistic, string, time, u32, owner-less misc matches, ... */
final class StateMatchExtensions {
    private StateMatchExtensions() {
    }

    static List<Extension> all() {
        return List.of(
                new org.jnetfilter.core.ext.matches.LimitMatch(),
                new org.jnetfilter.core.ext.matches.HashlimitMatch(),
                new org.jnetfilter.core.ext.matches.QuotaMatch(),
                new org.jnetfilter.core.ext.matches.NfacctMatch(),
                new org.jnetfilter.core.ext.matches.CpuMatch(),
                new org.jnetfilter.core.ext.matches.StatisticMatch(),
                new org.jnetfilter.core.ext.matches.SocketMatch(),
                new org.jnetfilter.core.ext.matches.RpfilterMatch(),
                new org.jnetfilter.core.ext.matches.RealmMatch(),
                new org.jnetfilter.core.ext.matches.StringMatch(),
                new org.jnetfilter.core.ext.matches.RecentMatch(),
                new org.jnetfilter.core.ext.matches.PolicyMatch(),
                new org.jnetfilter.core.ext.matches.OsfMatch(),
                new org.jnetfilter.core.ext.matches.U32Match(),
                new org.jnetfilter.core.ext.matches.BpfMatch(),
                new org.jnetfilter.core.ext.matches.TimeMatch(),
                new org.jnetfilter.core.ext.matches.CgroupMatch(),
                new org.jnetfilter.core.ext.matches.SetMatch(),
                new org.jnetfilter.core.ext.targets.SetTarget(),
                new org.jnetfilter.core.ext.matches.RateestMatch(),
                new org.jnetfilter.core.ext.targets.RateestTarget()
        );
    }
}
