package org.jnetfilter.core.host;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * nf_conntrack_sip's module parameters as {@code modprobe} gives them: values read as the kernel's
 * kstrtouint/kstrtoint read them, refusals with modprobe's error and the kernel's log line, unknown parameters
 * ignored with the kernel's warning.
 */
class ModuleParametersTest {

    static Stream<Arguments> accepted() {
        return Stream.of(
                Arguments.of("no parameter: the defaults", "", 3600L, true, true, false),
                Arguments.of("decimal", "sip_timeout=600", 600L, true, true, false),
                Arguments.of("0x is hex", "sip_timeout=0x10", 16L, true, true, false),
                Arguments.of("a leading 0 is octal", "sip_timeout=010", 8L, true, true, false),
                Arguments.of("a leading + and a trailing newline", "sip_timeout=+5\n", 5L, true, true, false),
                Arguments.of("the largest unsigned int", "sip_timeout=4294967295", 4294967295L, true, true, false),
                Arguments.of("int switches: any non-zero value is on", "sip_direct_media=0 sip_direct_signalling=-3 "
                        + "sip_external_media=2", 3600L, true, false, true),
                Arguments.of("dashes and underscores are the same (parameq)", "sip-direct-signalling=0", 3600L, false,
                        true, false),
                Arguments.of("the last of a name counts", "sip_direct_media=0 sip_direct_media=1", 3600L, true, true,
                        false),
                Arguments.of("ports at its default", "ports=5060", 3600L, true, true, false));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("accepted")
    void valuesAreReadAsTheKernelReadsThem(String name, String args, long timeout, boolean signalling,
            boolean media, boolean external) {
        Host host = new Host();
        host.loadModule("nf_conntrack_sip", args.isEmpty() ? new String[0] : args.split(" "));
        ModuleParameters p = host.moduleParameters();
        assertThat(p.sipTimeout()).isEqualTo(timeout);
        assertThat(p.sipDirectSignalling()).isEqualTo(signalling);
        assertThat(p.sipDirectMedia()).isEqualTo(media);
        assertThat(p.sipExternalMedia()).isEqualTo(external);
        assertThat(host.notices()).isEmpty();
    }

    static Stream<Arguments> refused() {
        String einval = "modprobe: ERROR: could not insert 'nf_conntrack_sip': Invalid argument (nf_conntrack_sip: ";
        String erange = "modprobe: ERROR: could not insert 'nf_conntrack_sip': Numerical result out of range "
                + "(nf_conntrack_sip: ";
        return Stream.of(
                Arguments.of("not a number", "sip_timeout=abc", einval + "`abc' invalid for parameter `sip_timeout')"),
                Arguments.of("no value", "sip_direct_media", einval + "`' invalid for parameter `sip_direct_media')"),
                Arguments.of("an empty value", "sip_timeout=", einval + "`' invalid for parameter `sip_timeout')"),
                Arguments.of("negative for an unsigned int", "sip_timeout=-1",
                        einval + "`-1' invalid for parameter `sip_timeout')"),
                Arguments.of("a digit outside octal", "sip_timeout=09",
                        einval + "`09' invalid for parameter `sip_timeout')"),
                Arguments.of("trailing text", "sip_external_media=1x",
                        einval + "`1x' invalid for parameter `sip_external_media')"),
                Arguments.of("beyond an unsigned int", "sip_timeout=4294967296",
                        erange + "`4294967296' invalid for parameter `sip_timeout')"),
                Arguments.of("beyond an int", "sip_direct_media=2147483648",
                        erange + "`2147483648' invalid for parameter `sip_direct_media')"),
                Arguments.of("beyond 64 bits", "sip_timeout=18446744073709551616",
                        erange + "`18446744073709551616' invalid for parameter `sip_timeout')"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("refused")
    void aValueTheKernelRefusesFailsTheLoadAndSetsNothing(String name, String args, String message) {
        Host host = new Host();
        assertThatThrownBy(() -> host.loadModule("nf_conntrack_sip", ("sip_timeout=60 " + args).split(" ")))
                .isInstanceOf(IllegalArgumentException.class).hasMessage(message);
        assertThat(host.moduleParameters().sipTimeout()).as("the module did not load: nothing set").isEqualTo(3600);
    }

    @org.junit.jupiter.api.Test
    void anUnknownParameterIsIgnoredWithTheKernelsWarning() {
        Host host = new Host();
        host.loadModule("nf_conntrack_sip", new String[] {"sip_timeout=60", "foo=1"});
        assertThat(host.moduleParameters().sipTimeout()).isEqualTo(60);
        assertThat(host.notices()).containsExactly("nf_conntrack_sip: unknown parameter 'foo' ignored");
    }

    @org.junit.jupiter.api.Test
    void otherPortsAndOtherModulesAreNotModelled() {
        Host host = new Host();
        assertThatThrownBy(() -> host.loadModule("nf_conntrack_sip", new String[] {"ports=5060,5062"}))
                .hasMessageContaining("ports other than 5060");
        assertThatThrownBy(() -> host.loadModule("nf_conntrack_ftp", new String[] {"ports=2121"}))
                .hasMessageContaining("only br_netfilter and nf_conntrack_sip");
    }
}
