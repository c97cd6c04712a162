package org.jnetfilter.core.ext;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import org.jnetfilter.core.rules.Family;
import org.junit.jupiter.api.Test;

/** The help texts of iptables 1.8.9's extension modules, as {@code iptables -m/-j NAME -h} prints them. */
class ExtensionHelpTest {

    @Test
    void everyRegisteredExtensionHasItsModulesHelpInEachFamilyItServes() {
        List<String> missing = new ArrayList<>();
        List<Extension> all = new ArrayList<>(Extensions.standard().matches());
        all.addAll(Extensions.standard().targets());
        for (Extension x : all) {
            for (Family f : x.families()) {
                String help = x.help(f);
                if (help == null || help.isEmpty() || !help.endsWith("\n")) {
                    missing.add(x + " " + f);
                }
            }
        }
        assertThat(missing).isEmpty();
    }

    @Test
    void rejectListsIcmpTypesForIptablesAndIcmpv6TypesForIp6tables() {
        Extension reject = Extensions.standard().target("REJECT", Family.IPV4);
        assertThat(reject.help(Family.IPV4)).contains("    icmp-host-prohibited     \tICMP host prohibited\n")
                .doesNotContain("icmp6");
        assertThat(reject.help(Family.IPV6)).contains("    icmp6-adm-prohibited     \tICMPv6 administratively prohibited\n")
                .doesNotContain("icmp-host");
    }

    @Test
    void tcpmssClampsToPathMtuLessTheIpHeaderOfTheFamily() {
        Extension tcpmss = Extensions.standard().target("TCPMSS", Family.IPV4);
        assertThat(tcpmss.help(Family.IPV4)).isEqualTo("""
                TCPMSS target mutually-exclusive options:
                  --set-mss value               explicitly set MSS option to specified value
                  --clamp-mss-to-pmtu           automatically clamp MSS value to (path_MTU - 20)
                """);
        assertThat(tcpmss.help(Family.IPV6)).contains("(path_MTU - 40)");
    }

    @Test
    void targetsWithoutOptionsSayIt() {
        assertThat(Extensions.standard().target("NOTRACK", Family.IPV4).help(Family.IPV4))
                .isEqualTo("NOTRACK does not take any options\n");
    }

    @Test
    void icmpv6AliasesShowIcmp6sHelp() {
        Extension alias = Extensions.standard().match("ipv6-icmp", Family.IPV6);
        assertThat(alias.help(Family.IPV6)).startsWith("icmpv6 match options:\n")
                .isEqualTo(Extensions.standard().match("icmp6", Family.IPV6).help(Family.IPV6));
    }

    @Test
    void matchAndTargetOfOneNameKeepTheirOwnTexts() {
        assertThat(Extensions.standard().match("dscp", Family.IPV4).help(Family.IPV4)).startsWith("dscp match options\n");
        assertThat(Extensions.standard().target("DSCP", Family.IPV4).help(Family.IPV4)).startsWith("DSCP target options\n");
    }
}
