"""The demo seminars: fictional events modelled on the JCM seminars the Ministry of the Environment holds with
partner countries ("JCM Seminar in Thailand, 13:00-17:00, Bangkok"; "JCM Seminar in Chile, 14:00-16:00").

Every organization is a demo organization (by its external id); dates are given relative to the week the seed
runs in (see seeds.demo_events), so the demo always has one seminar behind it and two ahead.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class DemoRequest:
    """A meeting request made at the event, from one demo organization to another."""

    sender: str
    recipient: str
    status: str  # accepted (a meeting at the event), pending or declined
    message: str
    topics: tuple[str, ...] = ()
    reason: str = ""  # the recipient's reason when declined


@dataclass(frozen=True)
class DemoSeminar:
    """One demo event: the organizer's form values, who registered, who asked whom, and its timetable."""

    title_en: str
    title_ja: str
    description_en: str
    description_ja: str
    venue: str
    online_url: str
    time_zone: str
    week: int  # weeks from the seed's week (negative: before it)
    weekday: int  # 0 = Monday
    opens_at: str
    closes_at: str
    meeting_minutes: int
    breaks: tuple[tuple[str, str, str], ...]
    table_count: int | None  # None: online, no table limit
    capacity: int
    auto_approve: bool
    deadline_days: int  # the registration deadline, days before the event's date
    deadline_time: str
    registrations: tuple[tuple[str, str], ...]  # (external id, status)
    unavailable: tuple[tuple[str, tuple[int, ...]], ...]  # (external id, slot indexes it cannot meet in)
    requests: tuple[DemoRequest, ...]
    timetable: bool  # the organizers placed the accepted meetings and published the timetable


DEMO_NOTE_EN = ("This is a demo event: the event, its venue and every organization are fictional, made up for "
                "trying out JCM Matchmaker.")
DEMO_NOTE_JA = ("これはデモ用のイベントです。イベント、会場、参加団体はすべて架空のもので、"
                "JCM Matchmakerを試すために作成しました。")

HO_CHI_MINH = DemoSeminar(
    title_en="JCM Business Matching Seminar in Ho Chi Minh City (Demo)",
    title_ja="JCMビジネスマッチングセミナー in ホーチミン（デモ）",
    description_en=("Energy efficiency for Viet Nam's industry: Japanese technology providers, Vietnamese and "
                    "regional manufacturers and financiers met in pre-arranged 20-minute one-to-one meetings "
                    "after a short plenary on the JCM financing programme.\n\n" + DEMO_NOTE_EN),
    description_ja=("ベトナム産業の省エネルギー：JCM設備補助事業の紹介の後、日本の技術保有企業とベトナム・近隣国の"
                    "製造業、金融機関が事前に調整した20分間の個別面談を行いました。\n\n" + DEMO_NOTE_JA),
    venue="Saigon Riverside Convention Hall, Room 3 (fictional venue), District 1, Ho Chi Minh City",
    online_url="", time_zone="Asia/Ho_Chi_Minh", week=-3, weekday=3, opens_at="13:30", closes_at="17:00",
    meeting_minutes=20, breaks=(("15:10", "15:30", "Coffee break"),), table_count=5, capacity=30,
    auto_approve=True, deadline_days=7, deadline_time="17:00",
    registrations=(
        ("demo-vn-01", "approved"), ("demo-jp-01", "approved"), ("demo-jp-03", "approved"),
        ("demo-jp-04", "approved"), ("demo-jp-10", "approved"), ("demo-jp-11", "approved"),
        ("demo-jp-18", "approved"), ("demo-fin-01", "approved"), ("demo-con-01", "approved"),
        ("demo-a64-vn-01", "approved"), ("demo-a64-vn-02", "approved"), ("demo-a64-vn-03", "approved"),
        ("demo-kh-01", "approved"), ("demo-bd-01", "approved"), ("demo-jp-07", "withdrawn"),
    ),
    unavailable=(("demo-fin-01", (0, 1)), ("demo-bd-01", (7, 8))),
    requests=(
        DemoRequest("demo-vn-01", "demo-jp-01", "accepted",
                    "Our dyeing plant in Binh Duong runs four old chillers around the clock. We would like to "
                    "hear what a high-efficiency replacement would save and how the JCM subsidy works.",
                    ("centrifugal chillers", "JCM financing")),
        DemoRequest("demo-vn-01", "demo-jp-11", "accepted",
                    "Steam for dyeing is our second largest energy cost; can we discuss your high-efficiency "
                    "boilers?", ("boilers", "steam")),
        DemoRequest("demo-a64-vn-02", "demo-jp-03", "accepted",
                    "We burn rice husks for process heat and lose much of it in the flue gas. Could your heat "
                    "recovery units fit our plant?", ("waste heat recovery",)),
        DemoRequest("demo-a64-vn-03", "demo-jp-10", "accepted",
                    "Our run-of-river plants feed a long rural line: we are looking at low-loss transformers.",
                    ("amorphous transformers",)),
        DemoRequest("demo-a64-vn-01", "demo-fin-01", "accepted",
                    "We would like to understand your green loans for an onshore wind extension.",
                    ("project finance",)),
        DemoRequest("demo-kh-01", "demo-jp-18", "accepted",
                    "Our cooperative pumps irrigation water with diesel pumps; we are interested in efficient "
                    "electric pumps.", ("pumps", "irrigation")),
        DemoRequest("demo-bd-01", "demo-jp-04", "accepted",
                    "Cooling the sewing floors is a large part of our electricity bill. We would like to compare "
                    "inverter air-conditioning options.", ("air conditioning",)),
        DemoRequest("demo-bd-01", "demo-jp-11", "accepted",
                    "We are replacing two coal-fired boilers in Gazipur and would like to meet.", ("boilers",)),
        DemoRequest("demo-con-01", "demo-a64-vn-02", "accepted",
                    "We prepare MRV plans for JCM projects and would be glad to explain the monitoring your "
                    "bioenergy project would need.", ("MRV", "monitoring plan")),
        DemoRequest("demo-jp-01", "demo-bd-01", "accepted",
                    "Our chillers cut cooling electricity by 30 to 40 percent in garment factories; may we show "
                    "you the figures from a plant in Ho Chi Minh City?", ("chillers",)),
        DemoRequest("demo-jp-10", "demo-kh-01", "declined",
                    "Would low-loss transformers help the cooperative's pumping stations?", ("transformers",),
                    reason="Our pumps run on diesel for now, so transformers do not help yet; "
                           "we have asked Seiryu Pump Works instead."),
    ),
    timetable=True,
)

BANGKOK = DemoSeminar(
    title_en="JCM Seminar in Thailand: Cooling and Clean Energy (Demo)",
    title_ja="JCMセミナー in タイ：冷却とクリーンエネルギー（デモ）",
    description_en=("Business matching for cooling, cold chains, solar power and waste-to-energy in Thailand and "
                    "its neighbours. 13:00 welcome and JCM programme update, then pre-arranged 20-minute "
                    "one-to-one meetings at six tables, with a coffee break at 14:40. The timetable is "
                    "published: see your meetings in My agenda.\n\n" + DEMO_NOTE_EN),
    description_ja=("タイと近隣国の冷却・コールドチェーン、太陽光発電、廃棄物発電のビジネスマッチング。13:00 開会と"
                    "JCM事業の紹介の後、6つのテーブルで事前に調整した20分間の個別面談を行います（14:40 休憩）。"
                    "面談スケジュールは公開済みです。マイアジェンダでご確認ください。\n\n" + DEMO_NOTE_JA),
    venue="Chao Phraya Conference Centre, Hall 2 (fictional venue), Bangkok",
    online_url="", time_zone="Asia/Bangkok", week=3, weekday=3, opens_at="13:00", closes_at="17:00",
    meeting_minutes=20, breaks=(("14:40", "15:00", "Coffee break"),), table_count=6, capacity=40,
    auto_approve=False, deadline_days=25, deadline_time="17:00",
    registrations=(
        ("demo-jp-01", "approved"), ("demo-vn-01", "approved"), ("demo-fin-01", "approved"),
        ("demo-th-01", "approved"), ("demo-a64-th-01", "approved"), ("demo-a64-th-02", "approved"),
        ("demo-jp-02", "approved"), ("demo-jp-04", "approved"), ("demo-jp-06", "approved"),
        ("demo-jp-17", "approved"), ("demo-jp-22", "approved"), ("demo-jp-23", "approved"),
        ("demo-fin-03", "approved"), ("demo-con-01", "approved"), ("demo-a64-vn-02", "approved"),
        ("demo-a64-id-03", "approved"), ("demo-ph-01", "approved"), ("demo-jp-25", "pending"),
        ("demo-jp-09", "withdrawn"),
    ),
    # The frozen-food maker arrives at 13:40, the bank leaves at 16:20, the chiller maker speaks at 15:00.
    unavailable=(("demo-th-01", (0, 1)), ("demo-fin-01", (9, 10)), ("demo-jp-01", (5,))),
    requests=(
        DemoRequest("demo-th-01", "demo-jp-01", "accepted",
                    "Our freezing lines in Samut Sakhon need new chillers. We would like to discuss low-GWP "
                    "refrigerants and the savings you measured elsewhere.", ("chillers", "low-GWP refrigerants")),
        DemoRequest("demo-jp-01", "demo-fin-01", "accepted",
                    "Several of our Thai customers ask about financing chiller replacements; could we talk "
                    "about a joint offer?", ("equipment finance",)),
        DemoRequest("demo-ph-01", "demo-jp-01", "accepted",
                    "Our resorts cool guest rooms with old chillers running on diesel power. What would a "
                    "replacement save?", ("chillers", "resorts")),
        DemoRequest("demo-vn-01", "demo-jp-04", "accepted",
                    "After the chiller project we are looking at the offices and sewing floors: inverter air "
                    "conditioning, please.", ("air conditioning",)),
        DemoRequest("demo-vn-01", "demo-fin-01", "accepted",
                    "We would like to finance the chiller replacement we discussed in Ho Chi Minh City.",
                    ("green loan", "JCM financing")),
        DemoRequest("demo-vn-01", "demo-con-01", "accepted",
                    "We need help with the monitoring plan for a JCM project at our dyeing plant.",
                    ("MRV", "monitoring plan")),
        DemoRequest("demo-th-01", "demo-jp-17", "accepted",
                    "We ship frozen seafood across the region and want to cut the energy of our cold stores.",
                    ("cold chain",)),
        DemoRequest("demo-a64-th-01", "demo-jp-02", "accepted",
                    "We develop rooftop solar on factories in Chonburi and look for an EPC partner.",
                    ("rooftop solar", "EPC")),
        DemoRequest("demo-a64-th-01", "demo-fin-03", "accepted",
                    "Could your fund take a share in a portfolio of rooftop solar plants?", ("equity",)),
        DemoRequest("demo-a64-th-02", "demo-jp-06", "accepted",
                    "We plan a biogas plant for municipal organic waste and would like to see your digesters.",
                    ("biogas", "municipal waste")),
        DemoRequest("demo-a64-th-02", "demo-jp-23", "accepted",
                    "Sorting before the digester is our weak point: can we discuss your recycling lines?",
                    ("sorting", "recycling")),
        DemoRequest("demo-jp-22", "demo-th-01", "accepted",
                    "Your plant needs both cold and steam: a gas cogeneration system with an absorption chiller "
                    "could supply both.", ("cogeneration",)),
        DemoRequest("demo-con-01", "demo-a64-th-02", "accepted",
                    "We can help with the JCM methodology and monitoring for your waste-to-energy plant.",
                    ("MRV", "methodology")),
        DemoRequest("demo-jp-02", "demo-fin-01", "accepted",
                    "We would like to present our solar projects in Thailand and discuss lease finance.",
                    ("solar", "lease")),
        DemoRequest("demo-a64-id-03", "demo-jp-06", "accepted",
                    "We turn palm oil mill effluent into biogas in Riau and look for gas engines.",
                    ("POME", "biogas")),
        DemoRequest("demo-ph-01", "demo-jp-02", "accepted",
                    "Solar with batteries for two island resorts: could you design it?", ("solar", "storage")),
        DemoRequest("demo-a64-vn-02", "demo-jp-01", "pending",
                    "We also run a cold store for our bioenergy by-products. Could we meet in Bangkok to discuss "
                    "a small chiller?", ("chillers",)),
        DemoRequest("demo-vn-01", "demo-jp-22", "pending",
                    "Would cogeneration make sense for a dyeing plant with our steam and cooling loads?",
                    ("cogeneration",)),
        DemoRequest("demo-jp-23", "demo-th-01", "declined",
                    "We recycle plastic packaging waste; may we show you our sorting lines?", ("recycling",),
                    reason="We already work with a recycler in Samut Prakan; happy to talk again next year."),
    ),
    timetable=True,
)

SANTIAGO = DemoSeminar(
    title_en="JCM Online Seminar from Santiago: Renewables and Green Hydrogen (Demo)",
    title_ja="JCMオンラインセミナー（サンティアゴ発）：再生可能エネルギーとグリーン水素（デモ）",
    description_en=("An online seminar hosted from Santiago de Chile, 14:00 to 16:00 Chile time: Chilean "
                    "developers of solar, wind and green hydrogen meet Japanese technology providers and "
                    "financiers in 15-minute online meetings. Registration is open: register your organization, "
                    "untick the slots in which you cannot meet, and request meetings with the participants.\n\n"
                    + DEMO_NOTE_EN),
    description_ja=("チリ・サンティアゴから配信するオンラインセミナー（チリ時間 14:00〜16:00）。太陽光、風力、"
                    "グリーン水素のチリの事業者と、日本の技術保有企業・金融機関が15分間のオンライン面談を行います。"
                    "参加登録を受付中です。団体を登録し、面談できない時間帯のチェックを外して、参加者に面談を"
                    "申し込んでください。\n\n" + DEMO_NOTE_JA),
    venue="", online_url="https://meet.example.com/jcm-santiago-demo", time_zone="America/Santiago",
    week=5, weekday=1, opens_at="14:00", closes_at="16:00", meeting_minutes=15, breaks=(), table_count=None,
    capacity=60, auto_approve=True, deadline_days=7, deadline_time="18:00",
    registrations=(
        ("demo-jp-15", "approved"), ("demo-jp-20", "approved"), ("demo-jp-13", "approved"),
        ("demo-jp-24", "approved"), ("demo-a64-cl-01", "approved"), ("demo-a64-cl-02", "approved"),
        ("demo-a64-cl-03", "approved"), ("demo-con-02", "approved"), ("demo-fin-02", "approved"),
    ),
    unavailable=(("demo-jp-15", (0,)),),
    requests=(
        DemoRequest("demo-a64-cl-02", "demo-jp-15", "accepted",
                    "Our Atacama solar plant curtails power at midday: could electrolysers use it?",
                    ("electrolysers", "green hydrogen")),
        DemoRequest("demo-a64-cl-03", "demo-fin-02", "accepted",
                    "We would like to discuss leasing the trackers for our next solar plant.", ("lease",)),
        DemoRequest("demo-jp-13", "demo-a64-cl-01", "accepted",
                    "We recover and destroy fluorocarbons from old equipment and would like to present our "
                    "service in Chile.", ("fluorocarbons",)),
        DemoRequest("demo-a64-cl-01", "demo-jp-15", "pending",
                    "Wind at night, hydrogen by day? We would like to hear about your fuel cells.",
                    ("fuel cells",)),
        DemoRequest("demo-con-02", "demo-a64-cl-02", "pending",
                    "We prepare JCM feasibility studies and would be glad to discuss one for your hydrogen plans.",
                    ("feasibility study",)),
    ),
    timetable=False,
)

DEMO_SEMINARS: tuple[DemoSeminar, ...] = (HO_CHI_MINH, BANGKOK, SANTIAGO)
