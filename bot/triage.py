"""Triage detectors: emergency, request for a person, hand-off role, personal situation, small talk.

Pure functions over the canonical text (NFKC, lower case, katakana folded to hiragana, see
`bot.normalize`). Patterns are written in ordinary Japanese (katakana where people write it) and
folded at import, so 「ゼーゼー」 in a pattern matches 「ぜーぜー」 and 「ｾﾞｰｾﾞｰ」 in a message.

How `is_emergency` decides
--------------------------
The message is cut into sentences. Every symptom pattern found in a sentence must be *live*:

* not negated right after it (「息苦しさはない」「頭は打っていなくて」「胸の痛みはないのですが」);
* not a habit or an old story (「〜ことがあります」「〜と思った時期もありました」「時々〜」);
* not hypothetical or a list of warning signs (「苦しくなったら」「止まったときの」「もし」「万一」「いざ」
  「〜などの症状が出たら」), not a figure of speech (「血を吐くような思い」);
* not in the past: the last time word before it in its clause is not 「去年」「先月」「以前」「2年前に」…
  unless a present word (「今」「さっき」「急に」) comes after it; 「先月退院した父が、トイレで倒れて」 is
  today's collapse, because a new clause starts after 「退院した父が」;
* not told as over (「〜していましたが、今は元気に退院しました」「〜て救急搬送されました」), not a chronic state
  (「意識がほとんどない状態で退院」「寝たきりで…」);
* for the milder signs, not resolved later in the sentence (「今は落ち着いています」).

A live *strong* sign (not breathing, unresponsive, choking, bleeding that will not stop, vomiting
blood, seizure that goes on, stroke speech/face signs, cyanosis, SpO2 below 90, suicide intent,
ventilator failure…) is an emergency on its own. *Weak* signs (breathlessness, chest pain, cold
sweat, pallor, collapse, head blow, allergen exposure…) are emergencies in the combinations listed
in `_COMBINATIONS` (chest pain with sweat, breathlessness with pallor, a head blow with drowsiness…).
Questions about 119, #7119 or what to do *if* something happens never contain a live sign, so they
stay out; when a real sign is present and live, recall wins.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from bot.normalize import canonical, fold_kana

__all__ = ["handoff_role", "is_emergency", "is_small_talk", "personal_situation", "wants_person"]


# ------------------------------------------------------------------------------------------------
# Public API
# ------------------------------------------------------------------------------------------------


def is_emergency(text: str) -> bool:
    """Life may be at risk now (see the module docstring for how the decision is made)."""
    found: set[str] = set()
    for sentence in _sentences(_prepare_for_emergency(text)):
        for signal in _SIGNALS:
            for match in signal.pattern.finditer(sentence):
                if not _is_live(sentence, match, signal):
                    continue
                if signal.strong:
                    return True
                found.add(signal.category)
    return any(first in found and not found.isdisjoint(others) for first, others in _COMBINATIONS)


def wants_person(text: str) -> bool:
    """An explicit request to talk to a human (not a question about who the staff are)."""
    t = _prepare(text)
    if _ABOUT_STAFF.search(t) and not _STRONG_PERSON_REQUEST.search(t):
        return False
    return bool(_PERSON_REQUEST.search(t))


def handoff_role(text: str) -> str:
    """"nurse" (medical), "msw" (money, family, welfare, placement, distress) or "any" (topic unclear)."""
    t = _prepare(text)
    if _EITHER_ROLE.search(t):
        return "any"
    msw = _score(_MSW_TERMS, t)
    nurse = _score(_NURSE_TERMS, t)
    if msw == 0 and nurse == 0:
        return "any"
    return "msw" if msw >= nurse else "nurse"


def personal_situation(text: str) -> str | None:
    """"nurse" or "msw" when the message describes one person's situation that needs a professional's
    judgment; None for a general question the FAQ can answer."""
    t = _prepare(text)
    if _MSW_URGENT.search(t) or (_MSW_PERSONAL_STRONG.search(t) and _FAMILY_OR_CLIENT.search(t)):
        return "msw"
    judge = bool(_JUDGE_REQUEST.search(t))
    service = bool(_SERVICE_QUESTION.search(t))
    about_someone_now = (_FAMILY_OR_CLIENT.search(t) or _ONGOING.search(t)) and _OBSERVATION.search(t)
    if (_CLINICAL.search(t) and not _HYPOTHETICAL.search(t) and not _PROGRAM_QUESTION.search(t)
            and (judge or (not service and about_someone_now))):
        return "nurse"
    if _MSW_PROBLEM.search(t) and _MSW_ASK.search(t):
        return "msw"
    return None


def is_small_talk(text: str) -> bool:
    """Greeting, thanks, acknowledgement, emoji only, or plainly outside the desk's scope — and no
    care, health, facility or family content at all."""
    t = _prepare(text)
    if not t or not _WORDLIKE.search(t):
        return True  # emoji, stamps, punctuation only
    if _CARE_CONTENT.search(t) or is_emergency(text):
        return False
    return bool(_SMALL_TALK.search(t) or _OUT_OF_SCOPE.search(t))


# ------------------------------------------------------------------------------------------------
# Shared helpers
# ------------------------------------------------------------------------------------------------


def _rx(*alternatives: str) -> re.Pattern[str]:
    """One compiled pattern from readable alternatives, katakana folded like the text."""
    return re.compile("|".join(f"(?:{fold_kana(a)})" for a in alternatives))


# Spaces matter only between Latin letters and digits ("spo2 80"); hiragana-only messages use them
# between words (「ちちが　たおれて」), which would break every pattern.
_INNER_SPACE = re.compile(r"(?<![0-9a-z]) | (?![0-9a-z])")


def _prepare(text: str) -> str:
    return _INNER_SPACE.sub("", canonical(text))


# ------------------------------------------------------------------------------------------------
# is_emergency: signals
# ------------------------------------------------------------------------------------------------


class _Signal:
    __slots__ = ("category", "dead_tail", "pattern", "resolvable", "strong")

    def __init__(self, category: str, strong: bool, *alternatives: str, dead_tail: str | None = None,
                 resolvable: bool | None = None) -> None:
        self.category = category
        self.strong = strong
        self.pattern = _rx(*alternatives)
        # A continuation that turns this sign into something else (「倒れてから」「しびれが残っている」).
        self.dead_tail = re.compile(fold_kana(dead_tail)) if dead_tail else None
        # Mild signs can be resolved later in the sentence (「今は落ち着いています」).
        self.resolvable = (not strong) if resolvable is None else resolvable


_NUM = r"[0-9一二三四五六七八九十数何]+"
_BREATH = r"(?:息|いき)"
_CALL = (r"(?:(?:呼|よ)(?:んで|びかけて|びかけ|べど)|声を?(?:かけ|掛け)て|声かけして|話しかけて|はなしかけて|揺すって|ゆすって"
         r"|叩いて|たたいて|つねって|起こして)")
# Signs that end in a negative must match the negative too, or the negation check would undo them.
_NEG_END = r"(?:ない|なく|ず|ん|へん|ひん|ねぇ|ねえ|ませ)"
_NOT_STOPPING = r"(?:止まら|とまら|止まん|とまん)(?:な|ず|ん|へん|ひん|ねぇ)|(?:止まり|とまり)ませ"
_RESIDUAL = r"^[^。]{0,6}?(?:残って|残る|残った|残り|のこって|後遺症|があり|がある|があって|のある)"

_SIGNALS: tuple[_Signal, ...] = (
    # -- not breathing / no pulse ------------------------------------------------------------
    _Signal("apnea", True,
            rf"{_BREATH}を?(?:して|しと|しよ|しちょ)(?:い)?(?:ない|ねぇ|ねえ|ねー|ねん|ねで|へん|ません|なく|なか|らん|ん)",
            rf"{_BREATH}を?(?:しとらん|しよらん|せん|せず)",
            rf"{_BREATH}を?して(?:い)?る(?:か|のか)(?:どうか)?(?:わから|分から|わかん|わかり)",
            rf"{_BREATH}を?して(?:い)?る(?:ように|よう|感じ|みたいに|ふうに)?(?:は)?(?:見え|思え|感じ)(?:ない|ませ|ず)",
            rf"(?:{_BREATH}|呼吸|こきゅう)が?[^。、¿]{{0,8}}?(?:止ま|とま)(?:っ|り|る)",
            rf"{_BREATH}が?(?:でき|出来)(?:ない|ず|なく|ていない|てない|ていません|てません|ません|ん)",
            rf"{_BREATH}が?(?:吸え|すえ)(?:ない|ず|ません)",
            r"(?:呼吸|こきゅう)(?:が|を)?(?:して(?:い)?な|止ま|とま|停止|ない|なく|していま?せん|できな)",
            r"心(?:臓|肺)が?(?:止ま|停止)", r"心停止", r"脈が?(?:ない|触れない|ふれない|とれない|触れず)",
            r"(?:動脈|脈)(?:が|は)?触知(?:でき)?(?:ず|ない|不可|しない|せず)",
            r"(?:脈|脈拍|心拍|hr)(?:が|は)?[^。\d]{0,4}?(?:[1-3]\d)(?!\d)", r"ほとんど息", r"\bcpa\b"),
    # -- unconscious / unresponsive ----------------------------------------------------------
    _Signal("unconscious", True,
            r"(?:意識|いしき)(?:が|は|も)?(?:ほとんど|全く|まったく)?(?:ない|なく|無い|無く|なし|無し|戻らな|もどらな|戻りませ"
            r"|もうろう|朦朧|おかしい|はっきりしな|低下|遠の|ありませ)",
            r"意識不明", r"意識消失", r"(?:意識|いしき)を?(?:失|うしな|なく)", r"気を(?:失|うしな)",
            r"(?:反応|はんのう)(?:が|も|は)?(?:ない|なく|無い|無く|なし|無し|ありませ|しない|しなく|しません|せん|せず|おかし|変)",
            r"(?:返事|へんじ|返答|応答)(?:が|も|は|を)?(?:ない|なく|なし|無い|しない|しなく|しません|ありませ|せん|せず|おかし|変)",
            rf"{_CALL}も[^。¿]{{0,14}}?(?:ない|なく|ません|なし|無し|ねぇ|へん|ひん)", r"ぴくりとも|ピクリとも",
            r"目が(?:覚め|さめ)(?:ない|ず|ませ|ん)",
            rf"{_CALL}も[^。¿]{{0,8}}?(?:起き|開け|あけ|答え|動か|せ|応え)(?:ん|へん|ひん)",
            r"(?:揺|ゆ)(?:すって|すっても|さぶって|さぶっても|らしても)も?", r"(?:叩|たた|つね)(?:いても|っても)",
            r"起こしても[^。]{0,4}?起き",
            rf"(?:目|め)を(?:開け|あけ|覚ま|さま)(?:{_NEG_END})", rf"目(?:開け|あけ)(?:{_NEG_END})", r"目が(?:うつろ|合わない|あわない)",
            r"(?:呼びかけ|声かけ|声掛け|よびかけ|呼名)(?:に|へ)?(?:も)?(?:応じ|反応し|答え|こたえ|開眼し)(?:ない|ませ|ず|なく)",
            r"開眼(?:せず|しない|しませ|なし)", r"(?:眠った|ねむった|寝た|ねた)まま[^。]{0,4}?(?:起き|おき|目を|目が)",
            r"白目", r"ぐにゃ", r"意識レベル", r"jcs[^。\d]{0,3}?(?:[1-9]\d|[23]桁|二桁|三桁)",
            r"gcs[^。\d]{0,3}?(?:[3-9]|1[0-2])(?!\d)"),
    # -- collapsed now ------------------------------------------------------------------------
    _Signal("collapsed", True,
            r"(?<!共)(?:倒れ|たおれ)(?:て|た|ました|とる|とった|てる|ている|ています|ていて|ておる|込ん|込み|こん|こみ|(?=[、,]))",
            r"(?:倒れ|たおれ)(?:で|だ)(?:る|ら|い|た)",
            dead_tail=r"^(?:て)?(?:から|以来|いらい|入院|にゅういん|救急|運ばれ|搬送|手術|たこと|た時期|た後|たあと|た当時)"
                      r"|^[^。]{0,3}?(?:入院|運ばれ|搬送|そう)", resolvable=True),
    # -- choking, swallowed objects -----------------------------------------------------------
    _Signal("choking", True,
            r"詰まらせ|つまらせ", r"(?:のど|喉|気道)に?[^。]{0,6}?(?:詰ま|つま)(?:って|った|り(?!やす)|る)",
            r"窒息", r"(?:背中|せなか)を?(?:叩|たた)いても", r"(?:のど|喉|口|詰ま|つま)[^。]{0,10}?(?:吐|は)き出せ(?:ない|ず|ません)",
            r"誤飲", r"(?:入れ歯|義歯|おもちゃ|硬貨|お金|ボタン|ptp|薬のシート)を?(?:飲み込|のみこ|飲ん|誤飲)",
            r"(?:洗剤|漂白剤|農薬|除草剤|灯油|ボタン電池|電池|たばこ|タバコ|磁石)[^。]{0,6}?(?:飲|の)(?:んだ|み込|みこ|んで|んじゃ)",
            dead_tail=r"^[^。]{0,6}?(?:ないよう|ない様|を防|予防|対策|しやす)"),
    # -- bleeding -----------------------------------------------------------------------------
    _Signal("bleeding", True,
            rf"(?:血(?!圧|糖|液|管)|ち)が?[^。、]{{0,8}}?(?:{_NOT_STOPPING})",
            r"血が?(?:ドクドク|ドバドバ|ぼたぼた|ダラダラ|ピューピュー|ぴゅーぴゅー|噴水)",
            rf"出血が?(?:{_NOT_STOPPING}|多|ひど|すご)", r"大量(?:の|に)?(?:出血|血)", r"(?:噴き|吹き|ふき)(?:出|だ)し",
            r"血の海", r"血だらけ", r"血まみれ", rf"押さえても[^。]{{0,6}}?(?:{_NOT_STOPPING}|血)"),
    _Signal("vomit_blood", True, r"吐血", r"喀血", r"血を(?:吐|は)", r"コーヒー(?:の)?(?:かす|カス|残渣)"),
    _Signal("blood_in_vomit", True, r"(?:吐いた|吐物|嘔吐物|もどした)[^。]{0,6}?(?:血(?!圧|糖)|真っ黒)", resolvable=True),
    _Signal("trauma", True, r"骨が?[^。]{0,3}?(?:見え|飛び出|突き出|出て)"),
    # -- seizure going on ---------------------------------------------------------------------
    _Signal("seizure", True,
            r"(?:けいれん|痙攣|ひきつけ|引きつけ|引き付け|発作|ガクガク|がくがく)[^。¿]{0,24}?"
            rf"(?:{_NOT_STOPPING}|(?:おさまら|治まら|収まら)(?:な|ず)|続いて|つづいて|また始ま|またはじま|繰り返し|くりかえし|続けて|続けざま|連続"
            rf"|{_NUM}分(?:くらい|ほど|ぐらい)?(?:以上|たっ|経っ|たつ|経つ|続|近く|も))",
            r"(?:けいれん|痙攣|ひきつけ|引きつけ|引き付け)(?:を)?(?:し|起こし|おこし)(?:て(?:い)?る|ています|ている|てます|だし|はじめ|始め)",
            r"(?:けいれん|痙攣)(?:中|重積)", r"泡を?(?:吹|ふ)い",
            rf"(?:座薬|ざやく|ダイアップ|ブコラム)[^。]{{0,12}}?(?:のに|ても)[^。]{{0,6}}?(?:{_NOT_STOPPING}|おさまら(?:な|ず))"),
    # -- stroke: speech and face signs are enough ---------------------------------------------
    _Signal("stroke", True,
            r"(?:ろれつ|呂律)が?(?:(?:回ら|まわら)(?:な|ず|ん)|(?:回って|まわって)(?:い)?(?:な|ませ)|おかし|あやし|怪し)",
            r"(?:言葉|ことば)(?:が|も)?(?:もつれ|出な|でな|出てこな|でてこな|おかし|変に|へんに|はっきりしな)",
            r"(?:言葉|ことば)に(?:ならな|なってな)",
            r"(?:しゃべり方|喋り方|話し方|しゃべりかた|はなしかた)(?:が|も)?(?:おかし|変|へん)",
            r"(?:顔|かお)の?(?:右|左|片)(?:側|半分)?(?:が|も)?(?:急に)?(?:動かな|うごかな)",
            r"(?:顔|かお|口|くち)(?:の|も|が)?(?:右|左|片)?(?:側|半分|端|元|角)?(?:が|も)?(?:下が|さが|ゆが|歪|垂れ|たれ|曲が)",
            r"(?:顔面|顔|口元|口角)[^。、]{0,6}?(?:歪|ゆが|垂れ|下が)", r"構音障害|失語(?:症状)?(?:が|の)?(?:出現|あり|出て)",
            dead_tail=_RESIDUAL),
    # -- airway, oxygen and breathing at their worst ------------------------------------------
    _Signal("respiratory", True,
            r"肩で(?:息|いき)|かたでいき", r"下顎呼吸", r"あえぎ呼吸", r"チアノーゼ",
            r"(?:唇|くちびる|爪|つめ)(?:が|も|の色が)?[^。]{0,6}?(?:紫|むらさき|青|あお)",
            r"(?:顔|かお|顔色|全身)(?:が|も|の色が)?[^。]{0,6}?(?:紫|むらさき|土気色|どす黒)",
            r"ピンク(?:色)?(?:の)?(?:泡|あわ)", r"いびき(?:の|みたい|のよう)[^。]{0,4}?(?:息|音|呼吸)",
            r"(?:話|しゃべ|喋)(?:せな|れな|すのもやっと|すのがやっと)", r"声が?(?:出な|でな)(?:い|く)",
            r"(?:酸素|さんそ)を?(?:上げ|あげ)ても", r"吸入しても[^。]{0,8}?(?:よくならな|良くならな|効かな|おさまらな|治まらな|苦し)",
            r"アンビュー", r"バッグ(?:を|で)?(?:押|もん|加圧)", r"用手換気", r"手動で(?:押|換気|空気)",
            r"心臓マッサージ", r"胸骨圧迫", r"aed(?:を)?(?:つけ|使っ|使用)"),
    _Signal("spo2", True, r"(?:spo2|sp02|サチュレーション|サチ|酸素飽和度|sat)[^。\d]{0,8}?(?:[1-8]\d)(?!\d)"),
    # -- anaphylaxis, drowning, burns, sudden headache, life support, sudden change -----------
    _Signal("anaphylaxis", True, r"アナフィラキシー", r"エピペンを?(?:打|使|刺)"),
    _Signal("drowning", True, r"溺れ|おぼれ", r"(?:風呂|ふろ|浴槽|湯船|プール|川|池)[^。]{0,6}?(?:沈ん|しずん)",
            r"(?:顔|頭)が?(?:お湯|湯|水)に?(?:つか|浸か|沈|入っ)", r"(?:お湯|湯|水)に(?:顔|頭)が?(?:つか|浸か|沈|入っ)"),
    _Signal("burn", True, r"大やけど|大火傷", r"全身(?:に)?(?:やけど|火傷)", r"広範囲[^。]{0,4}?(?:やけど|火傷)",
            r"一酸化炭素", r"感電", r"(?:服|衣服|髪|パジャマ)(?:が|に)?(?:燃え|焦げ|火が)",
            r"(?:やけど|火傷)[^。]{0,12}?(?:広範囲|全身|皮が?むけ|皮膚が?むけ|ずるむけ|胸まで|背中一面)"),
    _Signal("headache", True,
            r"(?:今まで|いままで)で?(?:一番|いちばん)[^。]{0,4}?(?:ひどい|強い|痛い|激しい)[^。]{0,4}?(?:頭|あたま)",
            r"(?:突然|急に|いきなり)[^。]{0,4}?(?:激しい|ひどい|割れるような|強烈な)[^。]{0,3}?(?:頭痛|頭の痛み)",
            r"割れるよう", r"バットで殴られたよう",
            r"(?:突然|急に|いきなり)[^。]{0,4}?(?:ひどく|激しく|強烈に|すごく|ものすごく)[^。]{0,2}?(?:頭|あたま)が?(?:痛|いた)"),
    _Signal("life_support", True,
            r"(?:呼吸器|こきゅうき|ベンチレーター|レスピレーター)[^。]{0,8}?(?:止ま|とま|外れ|はずれ|抜け|ぬけ|動かな|うごかな"
            r"|故障|壊れ|こわれ)",
            r"(?:呼吸器|こきゅうき)[^。]{0,6}?バッテリー[^。]{0,8}?(?:あと|切れ|きれ|もたな|なくな|残り)",
            r"回路が?(?:外れ|はずれ|抜け)",
            r"(?:呼吸器|こきゅうき)[^。]{0,8}?(?:電源|電気)(?:が)?(?:落ち|切れ|入らな|つかな)",
            r"(?:カニューレ|気管(?:切開)?の?(?:チューブ|管))[^。]{0,12}?(?:(?:入れ直せ|戻せ|いれなおせ|入れられ)(?:な|ず|ませ)|入らな)"),
    _Signal("sudden_change", True, r"急変し(?:た|ました|てる|ています|ちゃ)",
            dead_tail=r"^[^。]{0,4}?(?:入院|搬送|運ばれ)"),
    # -- suicide intent, overdose now ---------------------------------------------------------
    _Signal("suicide", True,
            r"死にたい|しにたい|死にます|しにます|死んでやる|死のう|死ぬしか|死ぬつもり|死ぬ気",
            r"死ぬ[」』\"]?(?:って|と)(?:叫|さけ|言|い|わめ)", r"自殺(?:する|します|しよう|したい|を(?:図|はか|考え)|未遂)",
            r"首を?(?:吊|つ)(?:る|り|ろう|ります|った|って)", r"首(?:吊|つ)り", r"飛び降り|とびおり", r"身を投げ",
            r"命を絶|いのちを絶", r"終わりにし(?:ます|たい|よう)", r"手首を?切", r"リストカット|リスカ",
            r"生きていたくな|いきていたくな|生きていけな", r"(?:消え|きえ)て?(?:しまい)?たい",
            r"(?:薬|くすり|睡眠薬|錠剤|安定剤)[^。]{0,12}?(?:全部|ぜんぶ|一箱|ひと箱|大量|まとめて|ありったけ|何十|たくさん|いっぱい)"
            r"[^。]{0,6}?(?:飲|の)(?:ん|み|む|も)",
            r"(?:全部|ぜんぶ|一箱|ひと箱|大量|まとめて|ありったけ)[^。]{0,4}?(?:薬|くすり)[^。]{0,4}?(?:飲|の)(?:ん|み|む)",
            rf"(?:{_NUM}|[0-9]{{2,}})(?:錠|じょう|粒|シート)[^。]{{0,8}}?(?:飲|の)(?:ん|み|む)", r"\bod(?:し|した)",
            r"過量服薬", r"オーバードーズ", r"乗り越えようと", r"飛び込(?:もう|みます|む|んで死|んでやる)",
            r"(?:首|手首|腕|のど|喉|お腹)を?[^。]{0,3}?(?:切|刺)(?:ろう|った|っ|り|して|そう)", r"自傷",
            r"首に(?:ひも|紐|ロープ|タオル|ベルト|コード)", r"首を?(?:しめ|締め|絞め)(?:よう|て|た|られ)",
            dead_tail=r"^[^。]{0,2}?(?:終わ|おわ|きっ|切っ|きれ|切れ|忘れ|わすれ|の跡|のあと|の痕|痕|歴)"),
    # -- weak signs: emergencies only in combination (see _COMBINATIONS) ----------------------
    _Signal("breath", False,
            r"(?:息|いき)(?:苦し|ぐるし)", r"(?:息|いき)(?:が|も)?(?:しにく|しづら|しずら|荒|あら|浅|速|早|弱)",
            r"(?<!生活が)(?<!生活)(?<!経済的に)(?<!家計が)(?<!気持ちが)(?<!胸が)(?<!むねが)(?<!心が)(?<!胸も)"
            r"(?:苦し|くるし)(?:そう|がっ|い(?:と|って)|くな|くて|み|さ)",
            r"ゼーゼー|ぜいぜい|ゼイゼイ|ヒューヒュー|ひゅうひゅう|ゼロゼロ|ゴロゴロ|喘息|ぜんそく|呼吸困難",
            r"(?:spo2|サチュレーション|サチ|酸素飽和度)(?:が|は)?[^。]{0,4}?(?:測れな|はかれな|測定でき(?:な|ず)|出な|低)",
            r"(?:呼吸|こきゅう)(?:が|も)?(?:荒|あら|浅|あさ|速|早|はや|おかし|変|苦し|弱)", r"呼吸状態(?:が)?(?:悪|わる)",
            r"あえい|喘い|もがい|微弱", r"(?:息|いき)切れ(?!しやす)"),
    _Signal("color", False,
            r"顔色が?[^。]{0,4}?(?:悪|わる|真っ青|まっさお|青白|あおじろ|白|しろ|土気|変わ|かわ)",
            r"(?:顔|かお)(?:が|も|は)?[^。]{0,4}?(?:真っ青|まっさお|真っ白|まっしろ|青白|あおじろ|白い|しろい|白く|蒼白)",
            r"蒼白", r"真っ青", r"(?:唇|くちびる)(?:が|も)?[^。]{0,4}?(?:白|しろ)"),
    _Signal("sweat", False, r"冷や汗|冷汗|ひやあせ|脂汗|あぶらあせ",
            r"(?:汗|あせ)が?(?:びっしょり|だく|すご|ひど|ダラダラ|止まらな)"),
    _Signal("chest", False, r"胸痛",
            r"(?:胸|むね|心臓|しんぞう)(?:が|の|も|部)?[^。]{0,6}?(?:痛|いた|苦し|くるし|締め|しめ|絞扼|圧迫|重|押さえつけ)",
            r"(?:胸|むね)を?(?:押さえ|おさえ|かきむし|つかん)"),
    _Signal("pain", False, r"激痛|ものすごく痛|すごく痛が|のたうち|転げ回|耐えられな[^。]{0,2}痛|我慢できな[^。]{0,2}痛",
            r"痛みで動けな"),
    _Signal("shock", False, r"(?:bp|血圧)[^。\d]{0,6}?(?:[4-8]\d)(?!\d)",
            r"血糖(?:値)?(?:が|は)?[^。\d]{0,4}?(?:[1-4]\d)(?!\d)", r"末梢冷感|冷感著明|チアノーゼ"),
    _Signal("fall", False, r"(?:窓|ベランダ|屋根|階段|はしご|脚立|二階|2階|木)から(?:落ち|転落|転げ落ち)", r"転落"),
    _Signal("fire", False, r"煙を?(?:吸|すっ)|部屋が煙|火事|火災"),
    _Signal("collapse", False,
            r"ぐったり", r"ふらふら|ふらつ", r"立て(?:ない|なく|ません|ず)", r"立っていられ",
            r"(?:起き|立ち)上がれ(?:ない|ず|なく|ませ)", r"動けな", r"動かん", r"うずくま", r"めまい",
            r"(?:父|母|夫|妻|主人|祖父|祖母|息子|娘|子|人|本人|利用者|ちゃん|さん)(?:が|は)?[^。、]{0,6}?(?:動か|うごか)(?:ない|なく|ん|へん)",
            r"(?:体|からだ)が?[^。]{0,2}?冷た", r"(?:返事|反応)(?:も|が)?(?:弱|鈍|にぶ|悪|わる)",
            r"(?:^|[、,])(?:全く|まったく|全然)?(?:動か|うごか)(?:ない|なく|ん)"),
    _Signal("dark_stool", False, r"(?:黒い|真っ黒|まっくろ|くろい|タール)(?:い|な|の)?(?:便|うんち|べん)", r"下血", r"血便",
            r"(?:便器|トイレ|便|おしり|お尻)(?:が|の|から)?[^。]{0,4}?(?:真っ赤|血だらけ|血の海)"),
    _Signal("head", False, r"(?:頭|あたま|頭部|後頭部|側頭部|前頭部)(?:を|から|も|が)?(?:強く|思い切り|思いっきり|ひどく)?"
            r"(?:打|ぶつけ|うっ|強打)", r"頭から[^。]{0,3}?(?:血|ち)", r"頭部(?:打撲|外傷)"),
    _Signal("drowsy", False,
            r"目を閉じ", r"寝てしま", r"眠ってしま", r"すぐ寝", r"うとうと", r"ぼーっと", r"ぼんやり", r"変なこと",
            r"意味不明", r"眠そう|眠たそう", r"話が(?:おかし|変)", r"様子が(?:おかしい|変)", r"つじつま", r"呼ぶと[^。]{0,6}?(?:開け|あけ|起き|目を)"),
    _Signal("vomit", False, r"吐い|吐き|嘔吐|もどし"),
    _Signal("headache", False, r"頭痛|(?:頭|あたま)が?[^。]{0,3}?(?:痛|いた)"),
    _Signal("allergen", False,
            r"(?:蜂|はち|ハチ)に?(?:刺|さ)され", r"刺された", r"薬を?(?:飲|の)んだ(?:あと|後)", r"(?:食べ|たべ)た(?:あと|後)",
            r"注射の?(?:あと|後)", r"全身[^。]{0,4}?(?:ぶつぶつ|じんましん|蕁麻疹|発疹|赤く|かゆ)",
            r"(?:のど|喉)が?[^。]{0,3}?(?:腫れ|はれ|むくん|締め付け|しめつけ|狭く)",
            r"(?:顔|唇|まぶた|くちびる|首)[^。]{0,8}?(?:むくん|腫れ|はれ|パンパン)", r"声(?:が|も)?かすれ",
            r"(?:ご飯|ごはん|食事|おやつ|昼食|夕食|朝食|離乳食)の?(?:あと|後)"),
    _Signal("aspiration", False, r"誤嚥し(?:た|て)", r"むせ(?:込|こ)ん", r"(?:喉|のど)に?(?:つかえ|引っかか|ひっかか)"),
    _Signal("device", False,
            r"(?:カニューレ|気管(?:切開)?の?(?:チューブ|カニューレ|管))[^。]{0,4}?(?:抜け|ぬけ|外れ|はずれ|詰ま)",
            r"(?:酸素|さんそ)(?:濃縮器|ボンベ)?[^。]{0,6}?(?:止ま|とま|切れ|動かな|出てい?な|空に|からっぽ|残量が?(?:ない|ゼロ))",
            r"(?:ボンベ|濃縮器)(?:が|の)?[^。]{0,4}?(?:空に|からっぽ|切れ|止ま|とま|動かな|残量が?(?:ない|ゼロ))",
            r"(?:吸引器|きゅういんき)[^。]{0,6}?(?:壊れ|動かな|使えな)",
            r"(?:呼吸器|こきゅうき)[^。]{0,8}?アラーム[^。]{0,6}?(?:鳴りっぱなし|鳴りやまな|止まらな|鳴り続け)"),
    _Signal("infant", False, r"赤ちゃん|あかちゃん|赤ん坊|乳児|新生児|生後"),
    _Signal("heat", False, r"熱中症", r"(?:体|からだ)が?[^。]{0,4}?(?:熱い|あつい)"),
    _Signal("bath", False, r"風呂|ふろ|浴槽|湯船|入浴中|のぼせ"),
    _Signal("limb", False,
            r"(?:右|左|片)(?:側|方)?(?:の|半身)?(?:手足|手|足|腕|うで|半身|脚)[^。]{0,8}?(?:動かな|動かせな|うごかな|力が入らな"
            r"|ちからがはいらな|動かず|うごかず|しびれ|痺れ|麻痺|まひ|落と|上がらな|あがらな|だらん|言うことを聞かな|いうことをきかな)",
            r"(?:箸|はし|コップ|茶碗|湯のみ|スプーン)を?[^。、]{0,4}?(?:落と|持てな|つかめな)",
            dead_tail=_RESIDUAL),
    _Signal("sudden", False, r"急に|突然|いきなり|さっき|先ほど|さきほど|たった今|今朝から|数時間前|分前"),
    _Signal("alarm", False,
            r"至急|緊急|大至急|助けて|たすけて|早く来て", r"どんどん|みるみる|ますます",
            r"全然(?:よくならな|良くならな|治まらな|おさまらな)", r"改善(?:なし|せず|しな|しませ|ありませ|がな)",
            r"効かな|きかな", r"治まらな|おさまらな|収まらな", r"楽にならな|楽にならず|らくにならな", r"(?:して|使って|飲んで|入れて)も[^。]{0,4}?(?:よくならな|変わらな)"),
    # Calling (or asking whether to call) an ambulance about what is happening now.
    _Signal("ask_119", False,
            r"(?:救急車|きゅうきゅうしゃ)を?(?:呼|よ)(?:んだ(?:方|ほう)が|ぶべき|んで(?:いい|も|い?ます)|びました|んだ|びます|ぶね|ぶよ)",
            r"(?:119|救急)(?:番)?(?:に)?(?:電話|通報|要請)(?:した|しました|すべき|したほうが|した方が|して(?:いい|も|い?ます))"),
)

_SYMPTOMS = frozenset({"breath", "color", "sweat", "chest", "collapse", "dark_stool", "head", "drowsy", "allergen",
                       "aspiration", "device", "heat", "limb", "pain", "shock"})
# Weak signs that make an emergency together: (category, any one of these categories).
_COMBINATIONS: tuple[tuple[str, frozenset[str]], ...] = (
    ("chest", frozenset({"sweat", "color", "collapse", "breath", "sudden", "alarm"})),
    ("breath", frozenset({"color", "collapse", "allergen", "aspiration", "sudden", "alarm", "sweat", "device", "infant",
                          "drowsy"})),
    ("sweat", frozenset({"color", "collapse", "drowsy"})),
    ("color", frozenset({"collapse", "alarm", "aspiration"})),
    ("dark_stool", frozenset({"collapse", "color", "sweat"})),
    ("head", frozenset({"drowsy", "vomit", "collapse"})),
    ("fall", frozenset({"collapse", "drowsy", "head"})),
    ("headache", frozenset({"drowsy", "collapse", "limb"})),
    ("allergen", frozenset({"collapse", "color"})),
    ("infant", frozenset({"collapse", "color"})),
    ("device", frozenset({"color", "drowsy", "collapse"})),
    ("heat", frozenset({"collapse", "drowsy"})),
    ("bath", frozenset({"collapse", "drowsy", "breath"})),
    ("limb", frozenset({"sudden", "drowsy"})),
    ("collapse", frozenset({"alarm", "fire"})),
    ("pain", frozenset({"color", "sweat", "collapse", "drowsy"})),
    ("shock", frozenset({"sweat", "color", "collapse", "chest", "drowsy", "breath"})),
    ("fire", frozenset({"breath", "drowsy"})),
    ("ask_119", _SYMPTOMS),
)

# ------------------------------------------------------------------------------------------------
# is_emergency: context of one sign
# ------------------------------------------------------------------------------------------------

# 「どうしたら」「どうすれば」 end the description of a sign; they must not read as 「〜たら」.
_QUESTION_WORDS = re.compile(r"どう(?:したら|すれば|しよう|しよ|しょう|すりゃ|したらいい|すっぺ)|どないしたら")
_SENTENCE_END = re.compile(r"[。!?！？¿\n]|(?<!\d)\.(?!\d)")

_NEGATED = re.compile(fold_kana(
    r"^(?:さ|み|く|感|げ|そう|の症状|などの症状|の訴え|症状|とか|など)?(?:で|じゃ)?(?:は|も|が)?"
    r"(?:特に|全く|まったく|あまり|ほとんど|一度も|まだ|今は|いまは|今のところ)?"
    r"(?:ない|無い|なく|無く|なし|無し|ありませ|ございませ|見られ(?:ない|ませ)|みられ(?:ない|ませ)|なかった|なさそう|ず(?!っ))"
    r"(?!らい|ぐらい)"
    r"|^(?:っ|て|って|ってい|てい|ってはい|てはい|ては|っては|てな)(?:ない|なく|ませ|なかった|ねぇ|い(?:な|ませ))"))
_HYPOTHETICAL_TAIL = re.compile(fold_kana(
    r"^[^。、¿]{0,5}?(?:たら|だら|たとき|た時|だとき|た場合|る場合|の場合|な場合|るとき|る時|ときは|ときに|時に|時は|ときの|時の"
    r"|とき用|時用|際|ないよう|ないか(?:心配|不安)|ないため|たらと|ても大丈夫|ないか)|^時"
    r"|^[ぁ-ゖ]{0,2}?る(?:無呼吸|病気|症状|症候群|人|方|患者|子|ケース)"
    r"|^[ぁ-ゖ]{0,2}?(?:ても|でも|も)[、,]|(?:^|^[ぁ-ゖ]{1,2})(?:とか|など)(?=[?？、,]|$|の|で|が)"
    r"|^[ぁ-ゖ]{0,3}?(?:ような|ように)(?:思い|気持ち|苦労|毎日|日々|努力|生活)"
    r"|^[ぁ-ゖ]{0,2}?る(?:事故|こと|の|ような事)(?:が|を|は)?(?:心配|不安|怖|こわ|防|予防|避け)"
    r"|^[^。¿]{0,24}?(?:など|とか|等)の?(?:症状|サイン|兆候|とき|時|場合)"
    r"|^[^。、¿]{0,10}?(?:あったら|あれば|出たら|でたら|起きたら|なったら|あった場合|出た場合|見られたら|みられたら|あったとき|出たとき)"))
_HABIT_TAIL = re.compile(fold_kana(
    r"ことがあ|こともあ|ことが(?:多|よく|何度|時々|たまに|増え)|ことはあ|時期|ころが|頃が|たびに|がち|やすい|持病|既往"
    r"|口にし|口癖|くちぐせ|と言うことが|日もあ|日があ|ときもあ|時もあ|ときがあ|時があ|人が多|方が多|人も多|方も多"))
# Habit adverbs count only right before the sign (「時々呼吸が止まっている」).
_HABIT_HEAD = re.compile(fold_kana(r"(?:時々|ときどき|たまに|しょっちゅう|毎晩|毎年)[^。、]{0,12}$"))
# 「…していましたが、今は元気に退院しました」: a past episode told as over.
_PAST_THEN_NOW = re.compile(fold_kana(
    r"^[^。]{0,12}?(?:ました|ていた|でいた|った|た)(?:が|けど|けれど|けれども)[、,]?(?:今|いま)は[^。]{0,10}?"
    r"(?:元気|落ち着|おちつ|普通|大丈夫|回復|退院|安定|戻|治|なんとも|何とも)"
    r"|^[^。]{0,8}?ていた[^。]{0,10}?(?:最近|今は|いまは|このごろ)[^。]{0,8}?(?:笑顔|元気|落ち着|明る|普通|よく)"))
# 「意識を失って救急搬送されました」: told after the event, the person is already in hospital.
_ALREADY_IN_CARE = re.compile(fold_kana(
    r"^[^。]{0,12}?(?:搬送され|運ばれ(?:ま|た)|入院(?:し(?:ま|た)|中|になり|となり)|手術を?受け)"))
_HYPOTHETICAL_HEAD = re.compile(fold_kana(r"もし(?![てたかくな])|万一|万が一|いざ(?!り)|仮に|備え|将来|前もって|あらかじめ|事前に"))
_TIME_CUE = re.compile(fold_kana(
    r"(?P<past>去年|昨年|一昨年|先月|先々月|先週|先々週|以前(?!から)|昔(?!から)|かつて|当時|その時|その頃|あの時|若い頃"
    rf"|{_NUM}(?:年|か月|ヶ月|カ月|ヵ月|ケ月|箇月|週間)(?:ほど|くらい|ぐらい)?前|(?:^|[、,])(?:前に|前は|この前|この間)"
    r"|(?:^|[^0-9])[12][0-9]{3}年|平成|昭和)"
    r"|(?P<present>今(?!後|まで)|いま(?!まで)|さっき|先ほど|さきほど|現在|急に|突然|いきなり|また|再び|本日|今朝|今夜|今日|けさ)"))
_RESOLVED = re.compile(fold_kana(
    r"(?:今は|いまは|もう|すぐに|すぐ)[^。]{0,6}?(?:落ち着|おちつ|おさま|治ま|収ま|元気|大丈夫|普通|平気|なんとも|何とも|痛くな|戻|回復|止まっ)"
    r"|いつも通り|いつもどおり"))
_GRADUAL = re.compile(fold_kana(r"最近|このところ|ここ[^。]{0,3}(?:日|週|月|年)|徐々に|少しずつ|以前から|昔から|もともと|前々から|持病"))
# A time word only reaches as far as its own clause: in 「先月退院した父が、トイレで倒れて」 or
# 「先月退院した父がトイレで倒れて」 the collapse is today's.
_CLAUSE_RESTART = re.compile(fold_kana(
    r"[てでたしがどけ][、,]|(?:た|だ|い|な)(?:父|母|夫|妻|主人|祖父|祖母|義父|義母|息子|娘|子|人|方|利用者|本人|患者"
    r"|じいちゃん|ばあちゃん|おじいちゃん|おばあちゃん)(?:さん|様)?(?:が|は|の|も|、)"))
_GRADUAL_MATTERS = frozenset({"stroke", "limb", "breath", "chest", "collapse", "color"})
_CHRONIC_STATE = re.compile(fold_kana(
    r"^[^。]{0,4}?(?:状態|まま)(?:で[^。]{0,10}?(?:帰|退院|在宅|療養|過ご|暮ら|生活)|の(?:人|方|患者|父|母|夫|妻))"))
# Someone bedridden or in terminal care who is "barely conscious" is a care situation, not an event —
# unless the sentence says something has just happened.
_CHRONIC_CONTEXT = re.compile(fold_kana(r"寝たきり|植物状態|遷延性|看取|終末期|末期|ターミナル"))
_PRESENT_CUE = re.compile(fold_kana(r"今|いま|さっき|先ほど|急に|突然|いきなり|たった今"))
_CAUSE_BEFORE_COLLAPSE = re.compile(fold_kana(r"(?:梗塞|出血|病気|疾患|がん|癌)で$"))


def _prepare_for_emergency(text: str) -> str:
    return _QUESTION_WORDS.sub("¿", _prepare(text))


def _sentences(text: str) -> list[str]:
    return [s for s in _SENTENCE_END.split(text) if s]


def _is_live(sentence: str, match: re.Match[str], signal: _Signal) -> bool:
    head, tail = sentence[: match.start()], sentence[match.end():]
    # The conditional may start inside the match: 「倒れ|たら」 matched as 「倒れた」+「ら」.
    around_end = sentence[max(match.start(), match.end() - 2):]
    if _NEGATED.match(tail) or _CHRONIC_STATE.match(tail):
        return False
    if _HYPOTHETICAL_TAIL.match(tail) or _HYPOTHETICAL_TAIL.match(around_end):
        return False
    if _PAST_THEN_NOW.match(tail) or _ALREADY_IN_CARE.match(tail):
        return False
    if _HABIT_TAIL.search(tail.split("、", 1)[0][:16]):
        return False
    if signal.dead_tail is not None and signal.dead_tail.search(tail):
        return False
    if _HYPOTHETICAL_HEAD.search(head) or _HABIT_HEAD.search(head):
        return False
    cues = list(_TIME_CUE.finditer(head))
    if cues and cues[-1].group("past") and not _CLAUSE_RESTART.search(head, cues[-1].end()):
        return False
    if signal.category in ("unconscious", "apnea") and _CHRONIC_CONTEXT.search(sentence) \
            and not _PRESENT_CUE.search(sentence):
        return False
    if signal.category == "collapsed" and _CAUSE_BEFORE_COLLAPSE.search(head):
        return False
    if signal.resolvable and _RESOLVED.search(tail):
        return False
    # 「最近歩くと息苦しい」: a slow change is for the nurse, not for 119.
    gradual = _GRADUAL.search(head) if signal.category in _GRADUAL_MATTERS else None
    return not (gradual and not _CLAUSE_RESTART.search(head, gradual.end()))


# ------------------------------------------------------------------------------------------------
# wants_person
# ------------------------------------------------------------------------------------------------

_PERSON = (r"(?:人|ひと|人間|にんげん|担当|担当者|担当の方|スタッフ|相談員|職員|看護師|かんごし|msw|ソーシャルワーカー"
           r"|オペレーター|専門家|専門職|専門の方|誰か|だれか|どなたか|係の(?:人|方)|窓口の(?:人|方)|生身|ケアマネ)")
# The request forms of "talk / consult": 「話したい」「相談させて」「お話しできますか」「話せますか」.
_TALK = (r"(?:お|ご)?(?:話|はな|相談|そうだん|やりとり|やり取り)(?:を|が)?(?:し|さ|でき|させ)?"
         r"(?:たい|たく|せて|させて|てもら|ていただ|できます|できませ|できる|させてもら|ください|お願い|おねがい)"
         r"|(?:話|はな)せ(?:ます|ませ|る|たら)")
# Wishes only: 「電話で相談したい」 asks for a person, 「電話で相談できる？」 asks how the desk works.
_TALK_WISH = (r"(?:お|ご)?(?:話|はな|相談|そうだん)(?:を|が)?(?:し|さ|させ)?"
              r"(?:たい|たく|せて|させて|てもら|ていただ|させてもら|ください|お願い|おねがい)")
# 「相談できること」「話せる窓口」 describe things, they do not ask for anyone.
_NOT_A_REQUEST = r"(?!こと|もの|内容|範囲|ところ|所|窓口|場所|相手|人|のは|か(?:どうか)?(?:知り|教え))"
_PERSON_REQUEST = _rx(
    rf"{_PERSON}(?:さん|様|の方|の人|の方々)?(?:と|に)(?:直接|じかに|少し|ちょっと|一度)?(?:{_TALK}){_NOT_A_REQUEST}",
    rf"{_PERSON}(?:さん|様|の方|の人)?(?:に|へ)(?:つな|繋)(?:いで|げて|ぎ|げ|いでほし|いでもら)",
    rf"{_PERSON}(?:さん|様|の方|の人)?(?:に|と)(?:代わ|かわ|替わ)(?:って|り|れ)",
    rf"{_PERSON}(?:さん|様|の方|の人)?(?:に|へ)(?:引き継|ひきつ)(?:いで|ぎを?(?:お願い|おねがい|して|頼)|いでほし|いでもら)",
    r"(?:誰か|だれか|どなたか|人|スタッフ|担当)[^。]{0,10}?(?:対応して|応対して)(?:もらえ|ください|ほしい|いただけ|くれ)",
    r"(?:誰か|だれか|どなたか)(?:に)?(?:お願い|おねがい)",
    r"(?:引き継|ひきつ)ぎ(?:を)?(?:お願い|おねがい|してください|して)",
    r"(?:誰か|だれか|どなたか|人)に?(?:話|はなし)を(?:聞いて|きいて)(?:ほし|もらいた|ください|もらえ|いただ)",
    r"(?:ボット|bot|チャット|機械|ロボット|ai|自動応答|自動)[^。]{0,6}?(?:じゃ|では)(?:なく|な)",
    rf"電話で(?:直接)?(?:{_TALK_WISH})", r"(?:お)?電話(?:を)?(?:ください|いただけ|もらえ|ほしい|頂け|くれ)", r"折り返し",
    r"オペレーター|有人", rf"直接(?:{_TALK})(?!こと|もの|内容|範囲)",
)
_STRONG_PERSON_REQUEST = _rx(r"つないで|繋いで|代わって|かわって|折り返し|話したい|話せますか|お願いします")
_ABOUT_STAFF = _rx(r"(?:って|とは|は)(?:何|なに|どんな|どういう)[^。]{0,6}?(?:人|ひと|仕事|職)",
                   r"(?:何|なに)を(?:して|する|お願いでき|頼め)[^。]{0,8}?(?:人|ひと)", r"どういう人|どんな人|何する人")

# ------------------------------------------------------------------------------------------------
# handoff_role
# ------------------------------------------------------------------------------------------------

_EITHER_ROLE = _rx(r"でも(?:いい|良い|よい|かまい|構い|大丈夫)|どちらでも|どなたでも|誰でも|だれでも")

# Each distinct term found adds its group's weight (up to three terms per group).
_MSW_TERMS: tuple[tuple[re.Pattern[str], int], ...] = tuple((_rx(p), w) for p, w in (
    # abuse, exploitation
    (r"虐待|ぎゃくたい|暴力|怒鳴|どなら|叩かれ|殴|ネグレクト|放置され|使い込|搾取|手をあげ|手を上げ|あざ"
     r"|勝手に(?:使|引き出|下ろ|おろ)|お金を(?:取られ|とられ|盗られ)", 4),
    # money hardship, welfare
    (r"生活保護|払え(?:な|ず|そうに|ませ)|支払(?:い|え)が?(?:でき|重|きつ|厳し|苦し|重な)|負担が?(?:重|大き|きつ|厳し)"
     r"|収入が?(?:なく|ない|減)|お金が?(?:ない|足りな|なくて)|借金|滞納|督促|生活費|生活が?(?:苦し|でき)", 4),
    # guardianship, property
    (r"成年後見|後見|相続|遺言|預金|通帳|財産|金銭管理|権利擁護", 4),
    # placement and where to live
    (r"施設(?:に|へ|を)?[^。]{0,10}?(?:入|探|お願い|拒|嫌が|決め|迷)|入所|老人ホーム|特養|受け入れてくれる施設|看るか"
     r"|退院を?(?:迫|急か|せか|促)|行き先|転院先|退院先|住む(?:ところ|所|場所)|住まい", 3),
    # family conflict
    (r"けんか|喧嘩|揉め|もめて|対立|意見が?(?:まとまら|合わ|分かれ)|反対され|口論|協力して(?:くれ|もらえ)|孤立", 3),
    # caregiver distress
    (r"限界|もう無理|疲れ|眠れず|よく眠れませ|しんどい|つらい|辛い|追い詰め|怖い|自殺|死にたい|悩ん", 2),
    (r"ケアマネ(?:さん)?を?(?:変え|替え|交代)|うまくいか(?:な|ず)|相性", 2),
    # work, distance, welfare programmes
    (r"老老介護|県外|遠方|一人暮らし|独居|身寄り|介護休業|介護離職|仕事を?辞め|仕事(?:と|との)|両立|msw|ソーシャルワーカー"
     r"|制度|年金|手当|障害者手帳|一緒に考えて", 2),
    (r"兄|姉|弟|妹|親戚|家族", 1),
))
_NURSE_TERMS: tuple[tuple[re.Pattern[str], int], ...] = tuple((_rx(p), w) for p, w in (
    # symptoms and observations
    (r"熱|℃|度の|痛|傷|床ずれ|褥瘡|じょくそう|むくみ|むくん|腫れ|はれて|赤く|ただれ|咳|せき|痰|尿|おしっこ|便|お通じ"
     r"|下痢|嘔吐|吐き|吐い|食欲|飲み込|むせ|血圧|脈|サチュ|spo2|発作|けいれん|いびき|呼吸|息|皮膚|じゅくじゅく|におい"
     r"|にご|濁|そわそわ|症状|転ん|転ぶ|転び|転倒|頭を打|しびれ|めまい|ふらつ|脱水|水分|湿疹|かゆ|発疹|体温|血糖"
     r"|黒っぽ|紫っぽ|変色|顔色|副作用|眠れない|眠らな|眠りませ", 2),
    # treatments, devices, medication
    (r"アラーム|カテーテル|胃ろう|ポート|点滴|インスリン|注射|薬(?!剤師|局)|錠|頓服|ニトロ|酸素|吸引|吸入|ストーマ|手術"
     r"|傷口|消毒|処置|抗がん剤|飲み合わせ|リハビリ", 2),
    (r"看護師|かんごし|ナース|主治医|受診|何科", 2),
))


def _score(terms: Iterable[tuple[re.Pattern[str], int]], text: str) -> int:
    return sum(weight * min(3, len(set(pattern.findall(text)))) for pattern, weight in terms)


# ------------------------------------------------------------------------------------------------
# personal_situation
# ------------------------------------------------------------------------------------------------

_FAMILY_OR_CLIENT = _rx(
    r"父|母|夫|妻|主人|祖父|祖母|義父|義母|息子|娘|叔母|叔父|伯母|伯父|兄|姉|弟|妹|孫|家内|嫁|婿|親|おっと|つま|ちち|はは"
    r"|じいちゃん|ばあちゃん|おじいさん|おばあさん|おじいちゃん|おばあちゃん|うちの子|子ども|利用者|本人|患者さん|私|わたし|自分")
# Reasons that need the MSW whatever else the message asks.
_MSW_URGENT = _rx(
    r"虐待|ぎゃくたい|暴力を|怒鳴られ|どなられ|叩かれ|殴られ|ネグレクト|使い込|搾取|手をあげ|手を上げ|お金を(?:取られ|とられ|盗られ)",
    r"払え(?:な|ず|そうに|ませ)|支払(?:い|え)が?(?:でき(?:な|ませ)|重な)|生活保護を?(?:考え|受け|申請)|収入が?(?:なく|途絶)",
    r"勝手に(?:使|引き出|下ろ|おろ)|督促")
# Reasons that need the MSW when they are about someone in particular.
_MSW_PERSONAL_STRONG = _rx(
    r"施設[^。]{0,8}?(?:拒|嫌が|いやが)|(?:入所|施設)を?(?:拒|嫌が)", r"けんか|喧嘩|揉め|もめて|口論|意見が?(?:まとまら|合わ|分かれ)",
    r"成年後見(?:制度)?を?(?:使い|利用し|申し立て)|後見人を?(?:つけ|立て)")
_MSW_PROBLEM = _rx(
    r"負担が?(?:重|大き|きつ|厳し)|お金が?(?:ない|足りな)|生活費|医療費", r"限界|もう無理|眠れず|眠れませ|抱えきれ",
    r"施設|入所|看るか|老老介護|介護休業|介護離職|仕事との|両立|遠方|県外")
_MSW_ASK = _rx(r"相談したい|相談させ|一緒に考え|話を聞いて(?:ほし|もらいた|ください)|決められ(?:ない|ませ)|どう(?:したら|すれば)"
               r"|どう(?:話を)?進めれば")

_CLINICAL = _rx(
    r"熱が|熱は|熱も|℃|度くらいの熱|痛(?:い|く|み|が)|傷|床ずれ|褥瘡|むくみ|むくん|腫れ|はれて|赤く|ただれ|咳|痰|尿|おしっこ"
    r"|お通じ|便が|便秘|下剤|下痢|嘔吐|吐き気|食欲|飲み込|血圧|脈|サチュ|spo2|発作|アラーム|カテーテル|胃ろう|ポート|点滴|インスリン"
    r"|薬(?!剤師|局)|錠|頓服|ニトロ|いびき|皮膚|じゅくじゅく|におい|にごって|濁って|そわそわ|転んで|転び|転倒|頭は打|頭を打|しびれ|めまい"
    r"|息苦し|呼吸|酸素濃縮|黒っぽ|紫っぽ|変色|吸引|ストーマ|湿疹|かゆ|発疹|体温|血糖|眠らな|眠りませ")
_OBSERVATION = _rx(
    r"てい(?:ます|る)|てる|てきま|てきた|てきて|でいます|ありま|あります|ません|ないです|なし|出ていな|増え|広が|鳴って|気にな"
    r"|でした|ました|と言います|といいます|そうです")
_JUDGE_REQUEST = _rx(
    r"したほうが|した方が|したほうがいい|てもいい|てもよい|ても大丈夫|ていいの|ていいもの|使えばいい|使い方|量を|つぶして|増やして"
    r"|減らして|ずらして|飲ませて|何科|様子を見|受診(?:した|すべき|させ)|見てもらえます|診てもらえます|診てもらった(?:ほう|方)"
    r"|見てもらった(?:ほう|方)|意見を(?:聞|きき|伺)|迷って|相談にも?乗って")
_SERVICE_QUESTION = _rx(
    r"(?:来て|きて)(?:もらえ|くれ|もらう|もらい|ほしい|もらっ)|頼め|たのめ|申し込|もうしこ|どこ(?:に|で|へ|を|か)|ありますか|あるの|ある[?？]"
    r"|ありませんか|いますか|いるの|仕組み|制度|体制|サービス|施設|方法|手続き|ものなん|もらえるもの|費用|いくら|どのくらい|どれくらい"
    r"|教えて|知りたい|とは|って何|どういう|どんな|準備|探して|探し|事業所|ステーション|お願いできる|受けてくれる|対応できる"
    r"|もらうには|頼むには")
_HYPOTHETICAL = _rx(r"もし(?![てたかくな])|万一|万が一|いざ|仮に|備え|想定|なったら|の場合|ときのため")
_ONGOING = _rx(r"てきま|てきた|てきて|ています|ている|てる|でいます|出ていませ|ありません|ないです")
# Questions about the hub program itself (staffing, subsidies, plans) are never personal.
_PROGRAM_QUESTION = _rx(r"拠点|事業|補助|要件|計画書|申請書|経費|応募|採択|交付|要綱|手順書")

# ------------------------------------------------------------------------------------------------
# is_small_talk
# ------------------------------------------------------------------------------------------------

_WORDLIKE = re.compile(r"[0-9a-zぁ-ゖ一-鿿々〆ー]")
_SMALL_TALK = _rx(
    r"^(?:こんにちは|こんばんは|おはよう|お疲れ|おつかれ|はじめまして|初めまして|よろしく|ありがと|どうも|了解|りょうかい"
    r"|承知|わかりました|分かりました|なるほど|すみません|失礼|さようなら|またね|おやすみ)",
    r"^(?:はい|うん|ok|おけ|おっけー|いいえ|ええ)(?:[、。!！?？ー〜w]|です|でーす|$)",
    r"ありがと|助かりました|感謝|了解|承知|わかりました|分かりました|無事に済|よろしくお願い")
_OUT_OF_SCOPE = _rx(
    r"天気|雨|晴れ|気温|ラーメン|レストラン|お店|店を|飲食|ランチ|ディナー|カフェ|グルメ|電車|駅|バス|新幹線|時刻表|野球|サッカー"
    r"|試合|相撲|オリンピック|wi-?fi|ネット回線|インターネット|ルーター|スマホ|携帯(?:電話)?の?(?:料金|プラン|契約|機種|会社)"
    r"|格安sim|sim|電気料金|ガス料金|料金プラン"
    r"|(?:ラーメン|蕎麦|そば|寿司|焼肉|パン|ケーキ|居酒)屋|暑い|寒い|いい天気|iphone|android|機種変更|ゲーム|カラオケ"
    r"|晩ごはん|晩ご飯|夕飯|献立|レシピ|料理|マイナンバー|映画|テレビ番組|ドラマ|株価|競馬|旅行|ホテル|観光|おすすめ")
_CARE_CONTENT = _rx(
    r"介護|かいご|看護|かんご|医療|いりょう|病院|びょういん|診療|クリニック|医師|先生|薬|くすり|施設|しせつ|ケア|訪問|在宅"
    r"|症状|具合|ぐあい|体調|熱|痛|病気|怪我|けが|入院|退院|通院|保険|ショート|デイ|ヘルパー|包括|拠点|相談|費用|負担"
    r"|母|父|夫|妻|主人|祖母|祖父|息子|娘|家族|利用者|患者|本人|おばあ|おじい|ばあちゃん|じいちゃん|赤ちゃん|認知症|要介護"
    r"|救急|119|7119|呼吸|意識|血|死|苦し|つらい|限界|助けて|たすけて|親|預け|あずけ|歯|はいしゃ|びょう|いしゃ|医者"
    r"|ケアマネ|看取|リハビリ|車いす|車椅子|おむつ|送迎|事業|補助|災害|備品|申請|計画|吸引|aed")
