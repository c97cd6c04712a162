package org.jnetfilter.core.ext;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.jnetfilter.core.ext.matches.CommentMatch;
import org.jnetfilter.core.ext.matches.TcpMatch;
import org.jnetfilter.core.ext.matches.UdpMatch;
import org.jnetfilter.core.rules.Family;

/**
 * The extension registry: every match and target jnetfilter knows, by name. Built once; rejects two
 * extensions of the same kind and name. A name that is not here fails as iptables fails for an
 * extension whose shared object is missing.
 */
public final class Extensions {
    private static final Extensions STANDARD = new Extensions(all());

    private final Map<String, MatchExtension> matchByName = new LinkedHashMap<>();
    private final Map<String, TargetExtension> targetByName = new LinkedHashMap<>();

    public Extensions(List<Extension> extensions) {
        for (Extension e : extensions) {
            Extension previous = e instanceof TargetExtension t
                    ? targetByName.putIfAbsent(e.name(), t)
                    : matchByName.putIfAbsent(e.name(), (MatchExtension) e);
            if (previous != null) {
                throw new IllegalStateException("two extensions named " + e.name() + ": " + previous.getClass()
                        + " and " + e.getClass());
            }
        }
    }

    public static Extensions standard() {
        return STANDARD;
    }

    public MatchExtension match(String name, Family family) {
        MatchExtension m = matchByName.get(name);
        return m != null && m.families().contains(family) ? m : null;
    }

    public TargetExtension target(String name, Family family) {
        TargetExtension t = targetByName.get(name);
        return t != null && t.families().contains(family) ? t : null;
    }

    public List<MatchExtension> matches() {
        return List.copyOf(matchByName.values());
    }

    public List<TargetExtension> targets() {
        return List.copyOf(targetByName.values());
    }

    private static List<Extension> all() {
        List<Extension> all = new java.util.ArrayList<>(List.of(new TcpMatch(), new UdpMatch(), new CommentMatch()));
        all.addAll(ConntrackExtensions.all());
        all.addAll(ProtocolExtensions.all());
        all.addAll(StateMatchExtensions.all());
        all.addAll(ActionTargetExtensions.all());
        all.addAll(HeaderFieldExtensions.all());
        return List.copyOf(all);
    }
}
