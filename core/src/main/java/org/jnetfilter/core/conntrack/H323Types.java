package org.jnetfilter.core.conntrack;

/**
 * The ASN.1 types {@link H323Per} reads: H.225.0 (the H323-UserInformation of Q.931) and H.245 (the
 * MultimediaSystemControlMessage), each with the PER facts the decoder needs, as Linux's decoder knows them
 * (H.225.0 version 4, H.245 version 7; the kernel stops reading a structure at a component marked STOP).
 *
 * <pre>
 *   seq(name, o, r, k, ...)      SEQUENCE: o optional root components (bitmap width), r root components, k known
 *                                components (root + extensions the tables list)
 *   choice(name, b, r, k, ...)   CHOICE: b bits of index, r root alternatives, k known alternatives
 *   seqOf(name, size, lb, ub, x) SEQUENCE OF: count as {@code size} (bits 1-8, BYTE, WORD, SEMI), at least lb,
 *                                at most ub recorded
 *   integer/octets/bmp/numeric   with a size code (FIXD, bits 1-8, BYTE, WORD, CONS, SEMI, UNCO) and a lower bound
 *   later(name)                  an extension component the helpers never look into: passed over by its length
 *   .ext() extensible, .opt() OPTIONAL, .open() open type, .stop() the kernel stops here,
 *   .decode(slot) recorded at the parent's slot + slot (a SEQUENCE OF item: slot = its stride)
 * </pre>
 *
 * Slot layouts (ints) are this class's own: a recorded SEQUENCE has its option bitmap at its slot, a CHOICE its
 * index, a SEQUENCE OF its count; see the {@code *_AT} constants. Built once at class initialisation; immutable.
 */
final class H323Types {
    // ASN.1 kinds (the decoder's dispatch)
    static final int NUL = 0;
    static final int BOOL = 1;
    static final int OID = 2;
    static final int INT = 3;
    static final int ENUM = 4;
    static final int BITSTR = 5;
    static final int NUMSTR = 6;
    static final int OCTSTR = 7;
    static final int BMPSTR = 8;
    static final int SEQ = 9;
    static final int SEQOF = 10;
    static final int CHOICE = 11;
    // size codes: 1-8 are bit counts
    static final int FIXD = 0;
    static final int BYTE = 9;
    static final int WORD = 10;
    static final int CONS = 11;
    static final int SEMI = 12;
    static final int UNCO = 13;
    // attributes
    static final int STOP = 1;
    static final int DECODE = 2;
    static final int EXT = 4;
    static final int OPEN = 8;
    static final int OPT = 16;

    record Type(String name, int kind, int size, int lb, int ub, int attr, int slot, Type[] parts) {
        Type opt() {
            return new Type(name, kind, size, lb, ub, attr | OPT, slot, parts);
        }

        Type ext() {
            return new Type(name, kind, size, lb, ub, attr | EXT, slot, parts);
        }

        Type open() {
            return new Type(name, kind, size, lb, ub, attr | OPEN, slot, parts);
        }

        Type stop() {
            return new Type(name, kind, size, lb, ub, attr | STOP, slot, parts);
        }

        Type withoutOption() {
            return new Type(name, kind, size, lb, ub, attr & ~OPT, slot, parts);
        }

        Type named(String n) {
            return new Type(n, kind, size, lb, ub, attr, slot, parts);
        }

        Type decode(int at) {
            return new Type(name, kind, size, lb, ub, attr | DECODE, at, parts);
        }

        /** The bit of component {@code component} in this SEQUENCE's recorded option bitmap. */
        int bit(String component) {
            int optional = 0;
            for (int i = 0; i < parts.length; i++) {
                Type p = parts[i];
                if (p.name.equals(component)) {
                    if (i >= lb) {
                        return 0x80000000 >>> (size + i - lb);
                    }
                    if ((p.attr & OPT) == 0) {
                        break;
                    }
                    return 0x80000000 >>> optional;
                }
                if (i < lb && (p.attr & OPT) != 0) {
                    optional++;
                }
            }
            throw new IllegalArgumentException(name + " has no optional " + component);
        }

        @Override
        public String toString() {
            return name;
        }
    }

    private static final Type[] NONE = {};

    static Type nul(String n) {
        return new Type(n, NUL, FIXD, 0, 0, 0, 0, NONE);
    }

    static Type bool(String n) {
        return new Type(n, BOOL, FIXD, 0, 0, 0, 0, NONE);
    }

    static Type oid(String n) {
        return new Type(n, OID, BYTE, 0, 0, 0, 0, NONE);
    }

    static Type integer(String n, int size, int lb) {
        return new Type(n, INT, size, lb, 0, 0, 0, NONE);
    }

    static Type octets(String n, int size, int lb) {
        return new Type(n, OCTSTR, size, lb, 0, 0, 0, NONE);
    }

    static Type bmp(String n, int size, int lb) {
        return new Type(n, BMPSTR, size, lb, 0, 0, 0, NONE);
    }

    static Type numeric(String n, int size, int lb) {
        return new Type(n, NUMSTR, size, lb, 0, 0, 0, NONE);
    }

    static Type bitString(String n, int size, int lb) {
        return new Type(n, BITSTR, size, lb, 0, 0, 0, NONE);
    }

    static Type seq(String n, int optional, int root, int known, Type... parts) {
        return new Type(n, SEQ, optional, root, known, 0, 0, parts);
    }

    static Type seqOf(String n, int size, int lb, int ub, Type item) {
        return new Type(n, SEQOF, size, lb, ub, 0, 0, item == null ? NONE : new Type[] {item});
    }

    static Type choice(String n, int bits, int root, int known, Type... parts) {
        return new Type(n, CHOICE, bits, root, known, 0, 0, parts);
    }

    /** An extension component passed over by its length (never decoded, whatever its type). */
    static Type later(String n) {
        return nul(n);
    }

    static Type[] nuls(String... names) {
        Type[] t = new Type[names.length];
        for (int i = 0; i < names.length; i++) {
            t[i] = nul(names[i]);
        }
        return t;
    }

    static Type[] bools(String... names) {
        Type[] t = new Type[names.length];
        for (int i = 0; i < names.length; i++) {
            t[i] = bool(names[i]);
        }
        return t;
    }

    static Type[] concat(Type[] a, Type... b) {
        Type[] t = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, t, a.length, b.length);
        return t;
    }

    // ---- H.225.0 ----

    static final Type H221_NON_STANDARD = seq("H221NonStandard", 0, 3, 3, integer("t35CountryCode", BYTE, 0),
            integer("t35Extension", BYTE, 0), integer("manufacturerCode", WORD, 0));
    static final Type NON_STANDARD_PARAMETER = seq("NonStandardParameter", 0, 2, 2,
            choice("nonStandardIdentifier", 1, 2, 2, oid("object"), H221_NON_STANDARD.ext()).ext(),
            octets("data", SEMI, 0));
    static final Type NON_STANDARD_DATA = seq("nonStandardData", 0, 2, 2, NON_STANDARD_PARAMETER.parts()).opt();

    /** H.225.0 TransportAddress: index at +0, the address's offset at +2 (ipAddress or ip6Address). */
    static final Type TRANSPORT_ADDRESS = choice("TransportAddress", 3, 7, 7,
            seq("ipAddress", 0, 2, 2, octets("ip", FIXD, 4).decode(1), integer("port", WORD, 0)).decode(1),
            seq("ipSourceRoute", 0, 4, 4, octets("ip", FIXD, 4), integer("port", WORD, 0),
                    seqOf("route", SEMI, 0, 0, octets("item", FIXD, 4)),
                    choice("routing", 1, 2, 2, nuls("strict", "loose")).ext()).ext(),
            seq("ipxAddress", 0, 3, 3, octets("node", FIXD, 6), octets("netnum", FIXD, 4), octets("port", FIXD, 2)),
            seq("ip6Address", 0, 2, 2, octets("ip", FIXD, 16).decode(1), integer("port", WORD, 0)).ext().decode(1),
            octets("netBios", FIXD, 16), octets("nsap", 5, 1),
            seq("nonStandardAddress", 0, 2, 2, NON_STANDARD_PARAMETER.parts()));
    static final int TRANSPORT_ADDRESS_SLOTS = 3;
    /** The alternatives of TransportAddress the helpers read. */
    static final int IP_ADDRESS = 0;
    static final int IP6_ADDRESS = 3;

    static final Type ALIAS_ADDRESS = choice("AliasAddress", 1, 2, 7, numeric("dialedDigits", 7, 1),
            bmp("h323-ID", BYTE, 1), later("url-ID"), later("transportID"), later("email-ID"), later("partyNumber"),
            later("mobileUIM")).ext();
    static final Type ALIAS_LIST = seqOf("aliases", SEMI, 0, 0, ALIAS_ADDRESS);

    private static Type capabilities(String n) {
        return seq(n, 1, 1, 3, NON_STANDARD_DATA, later("dataRatesSupported"), later("supportedPrefixes")).ext();
    }

    static final Type SUPPORTED_PROTOCOLS = choice("SupportedProtocols", 4, 9, 11,
            seq("nonStandardData", 0, 2, 2, NON_STANDARD_PARAMETER.parts()), capabilities("h310"),
            capabilities("h320"), capabilities("h321"), capabilities("h322"), capabilities("h323"),
            capabilities("h324"), capabilities("voice"), capabilities("t120-only"), later("nonStandardProtocol"),
            later("t38FaxAnnexbOnly")).ext();
    static final Type ENDPOINT_TYPE = seq("EndpointType", 6, 8, 10, NON_STANDARD_DATA,
            seq("vendor", 2, 3, 3, H221_NON_STANDARD.ext(), octets("productId", BYTE, 1).opt(),
                    octets("versionId", BYTE, 1).opt()).ext().opt(),
            seq("gatekeeper", 1, 1, 1, NON_STANDARD_DATA).ext().opt(),
            seq("gateway", 2, 2, 2, seqOf("protocol", SEMI, 0, 0, SUPPORTED_PROTOCOLS).opt(), NON_STANDARD_DATA)
                    .ext().opt(),
            seq("mcu", 1, 1, 2, NON_STANDARD_DATA, later("protocol")).ext().opt(),
            seq("terminal", 1, 1, 1, NON_STANDARD_DATA).ext().opt(), bool("mc"), bool("undefinedNode"),
            later("set"), later("supportedTunnelledProtocols")).ext();

    // ---- H.245 ----

    static final Type H245_NON_STANDARD = seq("NonStandardParameter", 0, 2, 2,
            choice("nonStandardIdentifier", 1, 2, 2, oid("object"),
                    seq("h221NonStandard", 0, 3, 3, H221_NON_STANDARD.parts())),
            octets("data", SEMI, 0));

    static final Type VIDEO_CAPABILITY = choice("VideoCapability", 3, 5, 6, H245_NON_STANDARD,
            seq("h261VideoCapability", 2, 5, 6, integer("qcifMPI", 2, 1).opt(), integer("cifMPI", 2, 1).opt(),
                    bool("temporalSpatialTradeOffCapability"), integer("maxBitRate", WORD, 1),
                    bool("stillImageTransmission"), later("videoBadMBsCap")).ext(),
            seq("h262VideoCapability", 6, 17, 18, concat(bools("SPatML", "MPatLL", "MPatML", "MPatH-14", "MPatHL",
                    "SNRatLL", "SNRatML", "SpatialatH-14", "HPatML", "HPatH-14", "HPatHL"),
                    integer("videoBitRate", CONS, 0).opt(), integer("vbvBufferSize", CONS, 0).opt(),
                    integer("samplesPerLine", WORD, 0).opt(), integer("linesPerFrame", WORD, 0).opt(),
                    integer("framesPerSecond", 4, 0).opt(), integer("luminanceSampleRate", CONS, 0).opt(),
                    later("videoBadMBsCap"))).ext(),
            seq("h263VideoCapability", 7, 13, 21, integer("sqcifMPI", 5, 1).opt(), integer("qcifMPI", 5, 1).opt(),
                    integer("cifMPI", 5, 1).opt(), integer("cif4MPI", 5, 1).opt(), integer("cif16MPI", 5, 1).opt(),
                    integer("maxBitRate", CONS, 1), bool("unrestrictedVector"), bool("arithmeticCoding"),
                    bool("advancedPrediction"), bool("pbFrames"), bool("temporalSpatialTradeOffCapability"),
                    integer("hrd-B", CONS, 0).opt(), integer("bppMaxKb", WORD, 0).opt(), later("slowSqcifMPI"),
                    later("slowQcifMPI"), later("slowCifMPI"), later("slowCif4MPI"), later("slowCif16MPI"),
                    later("errorCompensation"), later("enhancementLayerInfo"), later("h263Options")).ext(),
            seq("is11172VideoCapability", 6, 7, 8, bool("constrainedBitstream"),
                    integer("videoBitRate", CONS, 0).opt(), integer("vbvBufferSize", CONS, 0).opt(),
                    integer("samplesPerLine", WORD, 0).opt(), integer("linesPerFrame", WORD, 0).opt(),
                    integer("pictureRate", 4, 0).opt(), integer("luminanceSampleRate", CONS, 0).opt(),
                    later("videoBadMBsCap")).ext(),
            later("genericVideoCapability")).ext();

    static final Type AUDIO_CAPABILITY = choice("AudioCapability", 4, 14, 22, H245_NON_STANDARD,
            integer("g711Alaw64k", BYTE, 1), integer("g711Alaw56k", BYTE, 1), integer("g711Ulaw64k", BYTE, 1),
            integer("g711Ulaw56k", BYTE, 1), integer("g722-64k", BYTE, 1), integer("g722-56k", BYTE, 1),
            integer("g722-48k", BYTE, 1),
            seq("g7231", 0, 2, 2, integer("maxAl-sduAudioFrames", BYTE, 1), bool("silenceSuppression")),
            integer("g728", BYTE, 1), integer("g729", BYTE, 1), integer("g729AnnexA", BYTE, 1),
            seq("is11172AudioCapability", 0, 9, 9, concat(bools("audioLayer1", "audioLayer2", "audioLayer3",
                    "audioSampling32k", "audioSampling44k1", "audioSampling48k", "singleChannel", "twoChannels"),
                    integer("bitRate", WORD, 1))).ext(),
            seq("is13818AudioCapability", 0, 21, 21, concat(bools("audioLayer1", "audioLayer2", "audioLayer3",
                    "audioSampling16k", "audioSampling22k05", "audioSampling24k", "audioSampling32k",
                    "audioSampling44k1", "audioSampling48k", "singleChannel", "twoChannels", "threeChannels2-1",
                    "threeChannels3-0", "fourChannels2-0-2-0", "fourChannels2-2", "fourChannels3-1",
                    "fiveChannels3-0-2-0", "fiveChannels3-2", "lowFrequencyEnhancement", "multilingual"),
                    integer("bitRate", WORD, 1))).ext(),
            later("g729wAnnexB"), later("g729AnnexAwAnnexB"), later("g7231AnnexCCapability"), later("gsmFullRate"),
            later("gsmHalfRate"), later("gsmEnhancedFullRate"), later("genericAudioCapability"),
            later("g729Extensions")).ext();

    /** DataProtocolCapability; separateLANStack (an extension) is alternative 10. */
    static final Type DATA_PROTOCOL = choice("DataProtocolCapability", 3, 7, 14, concat(new Type[] {H245_NON_STANDARD},
            concat(nuls("v14buffered", "v42lapm", "hdlcFrameTunnelling", "h310SeparateVCStack", "h310SingleVCStack",
                    "transparent"), later("segmentationAndReassembly"), later("hdlcFrameTunnelingwSAR"),
                    later("v120"), later("separateLANStack"), later("v76wCompression"), later("tcp"),
                    later("udp")))).ext();
    static final int SEPARATE_LAN_STACK = 10;

    static final Type APPLICATION = choice("application", 4, 10, 14, H245_NON_STANDARD, DATA_PROTOCOL.decode(1),
            DATA_PROTOCOL, DATA_PROTOCOL,
            seq("t84", 0, 2, 2, DATA_PROTOCOL,
                    choice("t84Profile", 1, 2, 2, nul("t84Unrestricted"), seq("t84Restricted", 0, 19, 19,
                            bools("qcif", "cif", "ccir601Seq", "ccir601Prog", "hdtvSeq", "hdtvProg",
                                    "g3FacsMH200x100", "g3FacsMH200x200", "g4FacsMMR200x100", "g4FacsMMR200x200",
                                    "jbig200x200Seq", "jbig200x200Prog", "jbig300x300Seq", "jbig300x300Prog",
                                    "digPhotoLow", "digPhotoMedSeq", "digPhotoMedProg", "digPhotoHighSeq",
                                    "digPhotoHighProg")).ext())),
            DATA_PROTOCOL, DATA_PROTOCOL, seq("nlpid", 0, 2, 2, DATA_PROTOCOL, octets("nlpidData", SEMI, 0)),
            nul("dsvdControl"), DATA_PROTOCOL, later("t30fax"), later("t140"), later("t38fax"),
            later("genericDataCapability")).ext();
    static final int T120 = 1;

    /** DataType: index at +0; data's application index at +2, its t120 index at +3. */
    static final Type DATA_TYPE = choice("DataType", 3, 6, 9, H245_NON_STANDARD, nul("nullData"), VIDEO_CAPABILITY,
            AUDIO_CAPABILITY,
            seq("data", 0, 2, 2, APPLICATION.decode(1), integer("maxBitRate", CONS, 0)).ext().decode(1),
            choice("encryptionData", 1, 2, 2, H245_NON_STANDARD, nul("h233Encryption")).ext(), later("h235Control"),
            later("h235Media"), later("multiplexedStream")).ext();
    static final int DATA = 4;

    static final Type H222_PARAMETERS = seq("h222LogicalChannelParameters", 3, 5, 5, integer("resourceID", WORD, 0),
            integer("subChannelID", WORD, 0), integer("pcr-pid", WORD, 0).opt(),
            octets("programDescriptors", SEMI, 0).opt(), octets("streamDescriptors", SEMI, 0).opt()).ext();
    static final Type H223_PARAMETERS = seq("h223LogicalChannelParameters", 0, 2, 2,
            choice("adaptationLayerType", 3, 6, 9, concat(new Type[] {H245_NON_STANDARD},
                    concat(nuls("al1Framed", "al1NotFramed", "al2WithoutSequenceNumbers", "al2WithSequenceNumbers"),
                            seq("al3", 0, 2, 2, integer("controlFieldOctets", 2, 0), integer("sendBufferSize", CONS, 0)),
                            later("al1M"), later("al2M"), later("al3M")))).ext(),
            bool("segmentableFlag")).ext();
    static final Type V76_PARAMETERS = seq("v76LogicalChannelParameters", 0, 5, 5,
            seq("hdlcParameters", 0, 3, 3, choice("crcLength", 2, 3, 3, nuls("crc8bit", "crc16bit", "crc32bit")).ext(),
                    integer("n401", WORD, 1), bool("loopbackTestProcedure")).ext(),
            choice("suspendResume", 2, 3, 3, nuls("noSuspendResume", "suspendResumewAddress", "suspendResumewoAddress"))
                    .ext(),
            bool("uIH"),
            choice("mode", 1, 2, 2, seq("eRM", 0, 2, 2, integer("windowSize", 7, 1),
                    choice("recovery", 2, 3, 3, nuls("rej", "sREJ", "mSREJ")).ext()).ext(), nul("uNERM")).ext(),
            seq("v75Parameters", 0, 1, 1, bool("audioHeaderPresent")).ext()).ext();

    /** H.245 TransportAddress: index at +0 (0: unicastAddress), unicast index at +1, the address's offset at +3. */
    static final Type H245_TRANSPORT_ADDRESS = choice("H245TransportAddress", 1, 2, 2,
            choice("unicastAddress", 3, 5, 7,
                    seq("iPAddress", 0, 2, 2, octets("network", FIXD, 4).decode(1), integer("tsapIdentifier", WORD, 0))
                            .ext().decode(1),
                    seq("iPXAddress", 0, 3, 3, octets("node", FIXD, 6), octets("netnum", FIXD, 4),
                            octets("tsapIdentifier", FIXD, 2)).ext(),
                    seq("iP6Address", 0, 2, 2, octets("network", FIXD, 16).decode(1),
                            integer("tsapIdentifier", WORD, 0)).ext().decode(1),
                    octets("netBios", FIXD, 16),
                    seq("iPSourceRouteAddress", 0, 4, 4, choice("routing", 1, 2, 2, nuls("strict", "loose")),
                            octets("network", FIXD, 4), integer("tsapIdentifier", WORD, 0),
                            seqOf("route", SEMI, 0, 0, octets("item", FIXD, 4))).ext(),
                    later("nsap"), later("nonStandardAddress")).ext().decode(1),
            choice("multicastAddress", 1, 2, 4,
                    seq("iPAddress", 0, 2, 2, octets("network", FIXD, 4), integer("tsapIdentifier", WORD, 0)).ext(),
                    seq("iP6Address", 0, 2, 2, octets("network", FIXD, 16), integer("tsapIdentifier", WORD, 0)).ext(),
                    later("nsap"), later("nonStandardAddress")).ext()).ext();
    static final int H245_ADDRESS_SLOTS = 4;
    static final int UNICAST_IP = 0;
    static final int UNICAST_IP6 = 2;

    /** H2250LogicalChannelParameters: bitmap at +0, mediaChannel at +1, mediaControlChannel at +5 (9 slots). */
    static final Type H2250_PARAMETERS = seq("h2250LogicalChannelParameters", 10, 11, 14,
            seqOf("nonStandard", SEMI, 0, 0, H245_NON_STANDARD).opt(), integer("sessionID", BYTE, 0),
            integer("associatedSessionID", 8, 1).opt(), H245_TRANSPORT_ADDRESS.opt().decode(1).named("mediaChannel"),
            bool("mediaGuaranteedDelivery").opt(),
            H245_TRANSPORT_ADDRESS.opt().decode(5).named("mediaControlChannel"),
            bool("mediaControlGuaranteedDelivery").opt().stop()).ext();
    static final int H2250_SLOTS = 9;

    static final Type NETWORK_ACCESS = seq("NetworkAccessParameters", 2, 4, 5,
            choice("distribution", 1, 2, 2, nuls("unicast", "multicast")).ext().opt(),
            choice("networkAddress", 2, 3, 3,
                    seq("q2931Address", 1, 2, 2, choice("address", 1, 2, 2, numeric("internationalNumber", 4, 1),
                            octets("nsapAddress", 5, 1)).ext(), octets("subaddress", 5, 1).opt()).ext(),
                    numeric("e164Address", 7, 1), H245_TRANSPORT_ADDRESS.decode(1).named("localAreaAddress")).ext()
                    .decode(1),
            bool("associateConference"), octets("externalReference", 8, 1).opt(),
            later("t120SetupProcedure")).ext();
    static final int LOCAL_AREA_ADDRESS = 2;

    /** OpenLogicalChannel (33 slots), see the *_AT constants. */
    static final Type OPEN_LOGICAL_CHANNEL = seq("OpenLogicalChannel", 1, 3, 5,
            integer("forwardLogicalChannelNumber", WORD, 1),
            seq("forwardLogicalChannelParameters", 1, 3, 5, integer("portNumber", WORD, 0).opt(),
                    DATA_TYPE.decode(1),
                    choice("multiplexParameters", 2, 3, 5, H222_PARAMETERS, H223_PARAMETERS, V76_PARAMETERS,
                            H2250_PARAMETERS.decode(1), nul("none")).ext().decode(5),
                    later("forwardLogicalChannelDependency"), later("replacementFor")).ext().decode(1),
            seq("reverseLogicalChannelParameters", 1, 2, 4, DATA_TYPE,
                    choice("multiplexParameters", 1, 2, 3, H223_PARAMETERS, V76_PARAMETERS, H2250_PARAMETERS.decode(1))
                            .ext().opt().decode(1),
                    later("reverseLogicalChannelDependency"), later("replacementFor")).ext().opt().decode(16),
            NETWORK_ACCESS.named("separateStack").opt().decode(27), later("encryptionSync").stop()).ext();
    static final int OLC_SLOTS = 33;
    static final int OLC_FORWARD_DATA_TYPE_AT = 2;
    static final int OLC_FORWARD_APPLICATION_AT = 4;
    static final int OLC_FORWARD_T120_AT = 5;
    static final int OLC_FORWARD_MULTIPLEX_AT = 6;
    static final int OLC_REVERSE_AT = 16;
    static final int OLC_SEPARATE_STACK_AT = 27;
    static final int FORWARD_H2250 = 3;
    static final int REVERSE_H2250 = 2;

    /** OpenLogicalChannelAck (28 slots). */
    static final Type OPEN_LOGICAL_CHANNEL_ACK = seq("OpenLogicalChannelAck", 1, 2, 5,
            integer("forwardLogicalChannelNumber", WORD, 1),
            seq("reverseLogicalChannelParameters", 2, 3, 4, integer("reverseLogicalChannelNumber", WORD, 1),
                    integer("portNumber", WORD, 0).opt(),
                    choice("multiplexParameters", 0, 1, 2, H222_PARAMETERS, H2250_PARAMETERS.decode(1)).ext().opt()
                            .decode(1),
                    later("replacementFor")).ext().opt().decode(1),
            NETWORK_ACCESS.named("separateStack").opt().decode(12),
            choice("forwardMultiplexAckParameters", 0, 1, 1, seq("h2250LogicalChannelAckParameters", 5, 5, 7,
                    seqOf("nonStandard", SEMI, 0, 0, H245_NON_STANDARD).opt(), integer("sessionID", 8, 1).opt(),
                    H245_TRANSPORT_ADDRESS.opt().decode(1).named("mediaChannel"),
                    H245_TRANSPORT_ADDRESS.opt().decode(5).named("mediaControlChannel"),
                    integer("dynamicRTPPayloadType", 5, 96).opt(), later("flowControlToZero"), later("portNumber"))
                    .ext().decode(1)).ext().opt().decode(18),
            later("encryptionSync").stop()).ext();
    static final int OLCA_REVERSE_AT = 1;
    static final int OLCA_SEPARATE_STACK_AT = 12;
    static final int OLCA_FORWARD_MULTIPLEX_AT = 18;
    static final Type H2250_ACK = OPEN_LOGICAL_CHANNEL_ACK.parts()[3].parts()[0];

    private static Type[] stops(String... names) {
        Type[] t = new Type[names.length];
        for (int i = 0; i < names.length; i++) {
            t[i] = nul(names[i]).stop();
        }
        return t;
    }

    static final Type REQUEST = choice("RequestMessage", 4, 11, 15, concat(concat(stops("nonStandard",
            "masterSlaveDetermination", "terminalCapabilitySet"), OPEN_LOGICAL_CHANNEL.decode(1)),
            stops("closeLogicalChannel", "requestChannelClose", "multiplexEntrySend", "requestMultiplexEntry",
                    "requestMode", "roundTripDelayRequest", "maintenanceLoopRequest", "communicationModeRequest",
                    "conferenceRequest", "multilinkRequest", "logicalChannelRateRequest"))).ext();
    static final int OPEN_LOGICAL_CHANNEL_REQUEST = 3;
    static final Type RESPONSE = choice("ResponseMessage", 5, 19, 24, concat(concat(stops("nonStandard",
            "masterSlaveDeterminationAck", "masterSlaveDeterminationReject", "terminalCapabilitySetAck",
            "terminalCapabilitySetReject"), OPEN_LOGICAL_CHANNEL_ACK.decode(1)),
            stops("openLogicalChannelReject", "closeLogicalChannelAck", "requestChannelCloseAck",
                    "requestChannelCloseReject", "multiplexEntrySendAck", "multiplexEntrySendReject",
                    "requestMultiplexEntryAck", "requestMultiplexEntryReject", "requestModeAck", "requestModeReject",
                    "roundTripDelayResponse", "maintenanceLoopAck", "maintenanceLoopReject",
                    "communicationModeResponse", "conferenceResponse", "multilinkResponse",
                    "logicalChannelRateAcknowledge", "logicalChannelRateReject"))).ext();
    static final int OPEN_LOGICAL_CHANNEL_ACK_RESPONSE = 5;

    /** MultimediaSystemControlMessage: index at +0 (0 request, 1 response), its message's index at +1, OLC at +2. */
    static final Type CONTROL_MESSAGE = choice("MultimediaSystemControlMessage", 2, 4, 4, REQUEST.decode(1),
            RESPONSE.decode(1), nul("command").stop(), nul("indication").stop()).ext().decode(0);
    static final int CONTROL_MESSAGE_SLOTS = 35;

    // ---- H.225.0 call signalling ----

    private static Type fastStart(int at) {
        return seqOf("fastStart", SEMI, 0, 30, OPEN_LOGICAL_CHANNEL.open().decode(OLC_SLOTS)).opt().decode(at);
    }

    private static Type h245Address(int at) {
        return TRANSPORT_ADDRESS.ext().opt().decode(at).named("h245Address");
    }

    static final Type CALL_IDENTIFIER = seq("callIdentifier", 0, 1, 1, octets("guid", FIXD, 16)).ext();

    /** Setup-UUIE: h245Address at +1, destCallSignalAddress at +4, sourceCallSignalAddress at +7, fastStart at +10. */
    static final Type SETUP = seq("setup", 7, 13, 39, oid("protocolIdentifier"), h245Address(1),
            ALIAS_LIST.named("sourceAddress").opt(), ENDPOINT_TYPE.named("sourceInfo"),
            ALIAS_LIST.named("destinationAddress").opt(),
            TRANSPORT_ADDRESS.ext().opt().decode(4).named("destCallSignalAddress"),
            ALIAS_LIST.named("destExtraCallInfo").opt(),
            seqOf("destExtraCRV", SEMI, 0, 0, integer("item", WORD, 0)).opt(), bool("activeMC"),
            octets("conferenceID", FIXD, 16),
            choice("conferenceGoal", 2, 3, 5, nuls("create", "join", "invite", "capability-negotiation",
                    "callIndependentSupplementaryService")).ext(),
            seq("callServices", 0, 8, 8, concat(bools("q932Full", "q951Full", "q952Full", "q953Full", "q955Full",
                    "q956Full", "q957Full"), seq("q954Info", 0, 2, 2, bools("conferenceCalling",
                    "threePartyService")).ext())).ext().opt(),
            choice("callType", 2, 4, 4, nuls("pointToPoint", "oneToN", "nToOne", "nToN")).ext(),
            TRANSPORT_ADDRESS.ext().opt().decode(7).named("sourceCallSignalAddress"),
            later("remoteExtensionAddress"), later("callIdentifier"), later("h245SecurityCapability"),
            later("tokens"), later("cryptoTokens"), fastStart(10), later("mediaWaitForConnect"),
            later("canOverlapSend"), later("endpointIdentifier").stop()).ext();
    static final int SETUP_FAST_START_AT = 10;
    static final int SETUP_DEST_CALL_SIGNAL_AT = 4;
    static final int SETUP_SOURCE_CALL_SIGNAL_AT = 7;

    /** CallProceeding, Connect, Alerting, Progress: h245Address at +1, fastStart at +4. */
    static final int FAST_START_AT = 4;
    static final Type CALL_PROCEEDING = seq("callProceeding", 1, 3, 12, oid("protocolIdentifier"),
            ENDPOINT_TYPE.named("destinationInfo"), h245Address(1), later("callIdentifier"),
            later("h245SecurityMode"), later("tokens"), later("cryptoTokens"), fastStart(FAST_START_AT),
            later("multipleCalls"), later("maintainConnection"), later("fastConnectRefused"), later("featureSet"))
            .ext();
    static final Type CONNECT = seq("connect", 1, 4, 19, concat(new Type[] {oid("protocolIdentifier"),
            h245Address(1), ENDPOINT_TYPE.named("destinationInfo"), octets("conferenceID", FIXD, 16),
            later("callIdentifier"), later("h245SecurityMode"), later("tokens"), later("cryptoTokens"),
            fastStart(FAST_START_AT)}, concat(nuls("multipleCalls", "maintainConnection", "language",
            "connectedAddress", "presentationIndicator", "screeningIndicator", "fastConnectRefused",
            "serviceControl", "capacity", "featureSet")))).ext();
    static final Type ALERTING = seq("alerting", 1, 3, 17, concat(new Type[] {oid("protocolIdentifier"),
            ENDPOINT_TYPE.named("destinationInfo"), h245Address(1), later("callIdentifier"),
            later("h245SecurityMode"), later("tokens"), later("cryptoTokens"), fastStart(FAST_START_AT)},
            nuls("multipleCalls", "maintainConnection", "alertingAddress", "presentationIndicator",
                    "screeningIndicator", "fastConnectRefused", "serviceControl", "capacity", "featureSet"))).ext();
    static final Type INFORMATION = seq("information", 0, 1, 7, concat(new Type[] {oid("protocolIdentifier")},
            nuls("callIdentifier", "tokens", "cryptoTokens", "fastStart", "fastConnectRefused", "circuitInfo")))
            .ext();
    static final Type RELEASE_COMPLETE = seq("releaseComplete", 1, 2, 11, concat(new Type[] {
            oid("protocolIdentifier"), choice("reason", 4, 12, 22, concat(nuls("noBandwidth", "gatekeeperResources",
                    "unreachableDestination", "destinationRejection", "invalidRevision", "noPermission",
                    "unreachableGatekeeper", "gatewayResources", "badFormatAddress", "adaptiveBusy", "inConf",
                    "undefinedReason"), nuls("facilityCallDeflection", "securityDenied", "calledPartyNotRegistered",
                    "callerNotRegistered", "newConnectionNeeded", "nonStandardReason", "replaceWithConferenceInvite",
                    "genericDataReason", "neededFeatureNotSupported", "tunnelledSignallingRejected"))).ext().opt()},
            nuls("callIdentifier", "tokens", "cryptoTokens", "busyAddress", "presentationIndicator",
                    "screeningIndicator", "capacity", "serviceControl", "featureSet"))).ext();

    /** Facility-UUIE: alternativeAddress at +1, reason's index at +4, h245Address at +5, fastStart at +8. */
    static final Type FACILITY = seq("facility", 3, 5, 21, concat(new Type[] {oid("protocolIdentifier"),
            TRANSPORT_ADDRESS.ext().opt().decode(1).named("alternativeAddress"),
            ALIAS_LIST.named("alternativeAliasAddress").opt(), octets("conferenceID", FIXD, 16).opt(),
            choice("reason", 2, 4, 11, nuls("routeCallToGatekeeper", "callForwarded", "routeCallToMC",
                    "undefinedReason", "conferenceListChoice", "startH245", "noH245", "newTokens", "featureSetUpdate",
                    "forwardedElements", "transportedInformation")).ext().decode(4),
            later("callIdentifier"), later("destExtraCallInfo"), later("remoteExtensionAddress"), later("tokens"),
            later("cryptoTokens"), later("conferences"), h245Address(5), fastStart(8)},
            nuls("multipleCalls", "maintainConnection", "fastConnectRefused", "serviceControl", "circuitInfo",
                    "featureSet", "destinationInfo", "h245SecurityMode"))).ext();
    static final int FACILITY_REASON_AT = 4;
    static final int FACILITY_H245_AT = 5;
    static final int FACILITY_FAST_START_AT = 8;
    static final int CALL_FORWARDED = 1;

    static final Type SECURITY_MODE = choice("SecurityServiceMode", 2, 3, 3, NON_STANDARD_PARAMETER, nul("none"),
            nul("default")).ext();
    static final Type SECURITY_CAPABILITIES = seq("SecurityCapabilities", 1, 4, 4,
            NON_STANDARD_PARAMETER.opt().named("nonStandard"), SECURITY_MODE.named("encryption"),
            SECURITY_MODE.named("authenticaton"), SECURITY_MODE.named("integrity")).ext();
    static final Type PARAMS = seq("paramS", 2, 2, 3, integer("ranInt", UNCO, 0).opt(), octets("iv8", FIXD, 8).opt(),
            later("iv16")).ext();
    static final Type CLEAR_TOKEN = seq("ClearToken", 8, 9, 11, oid("tokenOID"), integer("timeStamp", CONS, 1).opt(),
            bmp("password", 7, 1).opt(),
            seq("dhkey", 0, 3, 3, bitString("halfkey", WORD, 0), bitString("modSize", WORD, 0),
                    bitString("generator", WORD, 0)).ext().opt(),
            octets("challenge", 7, 8).opt(), integer("random", UNCO, 0).opt(),
            seq("certificate", 0, 2, 2, oid("type"), octets("certificate", SEMI, 0)).ext().opt(),
            bmp("generalID", 7, 1).opt(), seq("nonStandard", 0, 2, 2, oid("nonStandardIdentifier"),
                    octets("data", SEMI, 0)).opt(),
            later("eckasdhkey"), later("sendersID")).ext();

    private static Type hashed(String n, String data) {
        return seq(n, 0, 3, 3, oid("algorithmOID"), PARAMS, bitString(data, SEMI, 0));
    }

    private static Type encrypted(String n) {
        return seq(n, 0, 3, 3, oid("algorithmOID"), PARAMS, octets("encryptedData", SEMI, 0));
    }

    private static Type signed(String n) {
        return seq(n, 0, 4, 4, seq("toBeSigned", 8, 9, 11).ext().open(), oid("algorithmOID"), PARAMS,
                bitString("signature", SEMI, 0));
    }

    static final Type CRYPTO_TOKEN = choice("CryptoToken", 2, 4, 4,
            seq("cryptoEncryptedToken", 0, 2, 2, oid("tokenOID"), encrypted("token")),
            seq("cryptoSignedToken", 0, 2, 2, oid("tokenOID"), signed("token")),
            seq("cryptoHashedToken", 0, 3, 3, oid("tokenOID"), CLEAR_TOKEN.named("hashedVals"),
                    hashed("token", "hash")),
            encrypted("cryptoPwdEncr")).ext();
    static final Type CRYPTO_H323_TOKEN = choice("CryptoH323Token", 3, 8, 8,
            seq("cryptoEPPwdHash", 0, 3, 3, ALIAS_ADDRESS.named("alias"), integer("timeStamp", CONS, 1),
                    hashed("token", "hash")),
            seq("cryptoGKPwdHash", 0, 3, 3, bmp("gatekeeperId", 7, 1), integer("timeStamp", CONS, 1),
                    hashed("token", "hash")),
            encrypted("cryptoEPPwdEncr"), encrypted("cryptoGKPwdEncr"), signed("cryptoEPCert"),
            signed("cryptoGKCert"), signed("cryptoFastStart"), CRYPTO_TOKEN.named("nestedcryptoToken")).ext();

    static final Type PROGRESS = seq("progress", 5, 8, 11, oid("protocolIdentifier"),
            ENDPOINT_TYPE.named("destinationInfo"), h245Address(1), CALL_IDENTIFIER,
            choice("h245SecurityMode", 2, 4, 4, NON_STANDARD_PARAMETER, nul("noSecurity"),
                    SECURITY_CAPABILITIES.named("tls"), SECURITY_CAPABILITIES.named("ipsec")).ext().opt(),
            seqOf("tokens", SEMI, 0, 0, CLEAR_TOKEN).opt(), seqOf("cryptoTokens", SEMI, 0, 0, CRYPTO_H323_TOKEN).opt(),
            fastStart(FAST_START_AT), later("multipleCalls"), later("maintainConnection"), later("fastConnectRefused"))
            .ext();

    static final Type MESSAGE_BODY = choice("h323-message-body", 3, 7, 13, SETUP.decode(1), CALL_PROCEEDING.decode(1),
            CONNECT.decode(1), ALERTING.decode(1), INFORMATION, RELEASE_COMPLETE, FACILITY.decode(1),
            PROGRESS.decode(1), nul("empty"), later("status"), later("statusInquiry"), later("setupAcknowledge"),
            later("notify")).ext();
    static final int SETUP_BODY = 0;
    static final int CALL_PROCEEDING_BODY = 1;
    static final int CONNECT_BODY = 2;
    static final int ALERTING_BODY = 3;
    static final int FACILITY_BODY = 6;
    static final int PROGRESS_BODY = 7;

    /** H323-UU-PDU: bitmap at +0, the message body's index at +1 and the body from +2, h245Control at +1003. */
    static final int BODY_SLOTS = 1002;
    static final Type UU_PDU = seq("h323-uu-pdu", 1, 2, 11, MESSAGE_BODY.decode(1), NON_STANDARD_DATA,
            later("h4501SupplementaryService"), later("h245Tunneling"),
            seqOf("h245Control", SEMI, 0, 4, CONTROL_MESSAGE.open().decode(CONTROL_MESSAGE_SLOTS)).opt()
                    .decode(1 + BODY_SLOTS),
            later("nonStandardControl").stop()).ext();

    /** H323-UserInformation, the root: bitmap at 0, the H323-UU-PDU from 1. */
    static final Type USER_INFORMATION = seq("H323-UserInformation", 1, 2, 2, UU_PDU.decode(1),
            later("user-data").ext().opt().stop()).ext().decode(0);
    static final int PDU_AT = 1;
    static final int BODY_INDEX_AT = 2;
    static final int BODY_AT = 3;
    static final int H245_CONTROL_AT = 1 + 1 + BODY_SLOTS;
    static final int SLOTS = H245_CONTROL_AT + 1 + 4 * CONTROL_MESSAGE_SLOTS + 8;

    // ---- H.225.0 RAS ----

    private static Type addresses(String n, int at) {
        return seqOf(n, SEMI, 0, 10, TRANSPORT_ADDRESS.ext().decode(TRANSPORT_ADDRESS_SLOTS)).decode(at);
    }

    private static Type address(String n, int at) {
        return TRANSPORT_ADDRESS.ext().decode(at).named(n);
    }

    static final Type REQUEST_SEQ_NUM = integer("requestSeqNum", WORD, 1);
    /** A list of up to 10 TransportAddresses: its count at +0, item i at +1 + 3i. */
    static final int ADDRESS_LIST_SLOTS = 31;

    static final Type GATEKEEPER_REQUEST = seq("gatekeeperRequest", 4, 8, 18, REQUEST_SEQ_NUM,
            oid("protocolIdentifier"), NON_STANDARD_DATA, address("rasAddress", 1), later("endpointType").stop())
            .ext();
    static final Type GATEKEEPER_CONFIRM = seq("gatekeeperConfirm", 2, 5, 14, REQUEST_SEQ_NUM,
            oid("protocolIdentifier"), NON_STANDARD_DATA, bmp("gatekeeperIdentifier", 7, 1).opt(),
            address("rasAddress", 1), later("alternateGatekeeper").stop()).ext();
    /** RegistrationRequest: callSignalAddress list at +1, rasAddress list at +32, timeToLive at +63. */
    static final Type REGISTRATION_REQUEST = seq("registrationRequest", 3, 10, 31, REQUEST_SEQ_NUM,
            oid("protocolIdentifier"), NON_STANDARD_DATA, bool("discoveryComplete"),
            addresses("callSignalAddress", 1), addresses("rasAddress", 1 + ADDRESS_LIST_SLOTS),
            ENDPOINT_TYPE.named("terminalType"), ALIAS_LIST.named("terminalAlias").opt(),
            bmp("gatekeeperIdentifier", 7, 1).opt(), ENDPOINT_TYPE.parts()[1].named("endpointVendor")
                    .withoutOption(),
            later("alternateEndpoints"), integer("timeToLive", CONS, 1).opt().decode(1 + 2 * ADDRESS_LIST_SLOTS),
            later("tokens").stop()).ext();
    static final int RRQ_RAS_ADDRESS_AT = 1 + ADDRESS_LIST_SLOTS;
    static final int RRQ_TIME_TO_LIVE_AT = 1 + 2 * ADDRESS_LIST_SLOTS;
    /** RegistrationConfirm: callSignalAddress list at +1, timeToLive at +32. */
    static final Type REGISTRATION_CONFIRM = seq("registrationConfirm", 3, 7, 24, REQUEST_SEQ_NUM,
            oid("protocolIdentifier"), NON_STANDARD_DATA, addresses("callSignalAddress", 1),
            ALIAS_LIST.named("terminalAlias").opt(), bmp("gatekeeperIdentifier", 7, 1).opt(),
            bmp("endpointIdentifier", 7, 1), later("alternateGatekeeper"),
            integer("timeToLive", CONS, 1).opt().decode(1 + ADDRESS_LIST_SLOTS), later("tokens").stop()).ext();
    static final int RCF_TIME_TO_LIVE_AT = 1 + ADDRESS_LIST_SLOTS;
    static final Type UNREGISTRATION_REQUEST = seq("unregistrationRequest", 3, 5, 15, REQUEST_SEQ_NUM,
            addresses("callSignalAddress", 1), later("endpointAlias").opt().stop()).ext();
    /** AdmissionRequest: destCallSignalAddress at +1, srcCallSignalAddress at +4 (read for NAT only). */
    static final Type ADMISSION_REQUEST = seq("admissionRequest", 7, 16, 34, REQUEST_SEQ_NUM,
            choice("callType", 2, 4, 4, nuls("pointToPoint", "oneToN", "nToOne", "nToN")).ext(),
            choice("callModel", 1, 2, 2, nuls("direct", "gatekeeperRouted")).ext().opt(),
            bmp("endpointIdentifier", 7, 1), ALIAS_LIST.named("destinationInfo").opt(),
            address("destCallSignalAddress", 1).opt(), ALIAS_LIST.named("destExtraCallInfo").opt(),
            ALIAS_LIST.named("srcInfo"), address("srcCallSignalAddress", 4).opt(), later("bandWidth").stop()).ext();
    static final Type ADMISSION_CONFIRM = seq("admissionConfirm", 2, 6, 27, REQUEST_SEQ_NUM,
            integer("bandWidth", CONS, 0), choice("callModel", 1, 2, 2, nuls("direct", "gatekeeperRouted")).ext(),
            address("destCallSignalAddress", 1), later("irrFrequency").opt().stop()).ext();
    static final Type LOCATION_REQUEST = seq("locationRequest", 2, 5, 17, REQUEST_SEQ_NUM,
            bmp("endpointIdentifier", 7, 1).opt(), ALIAS_LIST.named("destinationInfo"), NON_STANDARD_DATA,
            address("replyAddress", 1), later("sourceInfo").stop()).ext();
    /** LocationConfirm: callSignalAddress at +1, rasAddress at +4. */
    static final Type LOCATION_CONFIRM = seq("locationConfirm", 1, 4, 19, REQUEST_SEQ_NUM,
            address("callSignalAddress", 1), address("rasAddress", 4), later("nonStandardData").opt().stop())
            .ext();
    /** InfoRequestResponse: rasAddress at +1, callSignalAddress list at +4 (read for NAT only). */
    static final Type INFO_REQUEST_RESPONSE = seq("infoRequestResponse", 3, 8, 16, NON_STANDARD_DATA,
            REQUEST_SEQ_NUM, ENDPOINT_TYPE.named("endpointType"), bmp("endpointIdentifier", 7, 1),
            address("rasAddress", 1), addresses("callSignalAddress", 4), later("endpointAlias").opt().stop())
            .ext();

    /** RasMessage: the message's index at 0, the message from 1. */
    static final Type RAS_MESSAGE = choice("RasMessage", 5, 24, 32, concat(concat(new Type[] {
            GATEKEEPER_REQUEST.decode(1), GATEKEEPER_CONFIRM.decode(1), nul("gatekeeperReject").stop(),
            REGISTRATION_REQUEST.decode(1), REGISTRATION_CONFIRM.decode(1), nul("registrationReject").stop(),
            UNREGISTRATION_REQUEST.decode(1), nul("unregistrationConfirm").stop(),
            nul("unregistrationReject").stop(), ADMISSION_REQUEST.decode(1), ADMISSION_CONFIRM.decode(1)},
            concat(stops("admissionReject", "bandwidthRequest", "bandwidthConfirm", "bandwidthReject",
                    "disengageRequest", "disengageConfirm", "disengageReject"),
                    LOCATION_REQUEST.decode(1), LOCATION_CONFIRM.decode(1), nul("locationReject").stop(),
                    nul("infoRequest").stop(), INFO_REQUEST_RESPONSE.decode(1))),
            stops("nonStandardMessage", "unknownMessageResponse", "requestInProgress", "resourcesAvailableIndicate",
                    "resourcesAvailableConfirm", "infoRequestAck", "infoRequestNak", "serviceControlIndication",
                    "serviceControlResponse"))).ext().decode(0);
    static final int GRQ = 0;
    static final int GCF = 1;
    static final int RRQ = 3;
    static final int RCF = 4;
    static final int URQ = 6;
    static final int ARQ = 9;
    static final int ACF = 10;
    static final int LRQ = 18;
    static final int LCF = 19;
    static final int IRR = 22;
    static final int RAS_AT = 1;

    private H323Types() {
    }
}
