"""Triage detectors: emergency, request for a person, hand-off role, personal situation, small talk.

Pure functions over the canonical text (NFKC, lower case, katakana folded to hiragana, see
`bot.normalize`). Patterns are written in ordinary Japanese (katakana where people write it) and
folded at import, so 「ゼーゼー」 in a pattern matches 「ぜーぜー」 and 「ｾﾞｰｾﾞｰ」 in a message.

`is_emergency` reads the red-flag file through `bot.red_flags` (see there).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from bot.normalize import canonical, fold_kana
from bot.red_flags import assess

__all__ = ["handoff_role", "is_emergency", "is_small_talk", "personal_situation", "wants_person"]


# ------------------------------------------------------------------------------------------------
# Public API
# ------------------------------------------------------------------------------------------------


def is_emergency(text: str) -> bool:
    """Life may be at risk now: a live red finding (`bot.red_flags`)."""
    return assess(text).emergency


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
    named = {role for role, pattern in _NAMED_ROLE.items() if pattern.search(t)}
    if len(named) == 1:
        return named.pop()  # 「看護師の方にご相談申し上げたい」: the person asked for by name
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
    if asks_to_consult(text) and _FAMILY_OR_CLIENT.search(t):
        role = handoff_role(text)
        return "nurse" if role == "any" and _CLINICAL.search(t) else role
    return None


def asks_to_consult(text: str) -> bool:
    """「…相談させてください」「相談に乗ってもらえますか」: the desk is asked to consult on this case (not
    where or whether one can consult, which the FAQ answers; not the hub programme)."""
    t = _prepare(text)
    return bool(_CONSULT_REQUEST.search(t) and not _WHERE_OR_WHETHER.search(t) and not _PROGRAM_QUESTION.search(t))


def asks_how_things_work(text: str) -> bool:
    """A question about how a service, benefit or procedure works, asked from within someone's situation
    (「父の介護で会社を休まなきゃ…介護休業って何日取れますか？」), with no distress, no request to consult on
    the case and no judgment asked about one person: the FAQ answers it, and a person is offered beside."""
    t = _prepare(text)
    if (_MSW_URGENT.search(t) or _DISTRESS.search(t) or _CASE_CONSULT.search(t) or _JUDGE_REQUEST.search(t)
            or asks_to_consult(text)):
        return False
    return bool(_SERVICE_QUESTION.search(t) or _HOW_IT_WORKS.search(t))


def at_risk(text: str) -> bool:
    """Someone may come to harm that no FAQ answer prevents: harm to or neglect of the person cared
    for, abuse or money taken, the wish to follow someone dead. Such a message goes to a person whatever
    else it asks (「成年後見ってどうやってするの？」 beside 「おばの年金を甥が全部持っていって」)."""
    t = _prepare(text)
    return bool(_MSW_URGENT.search(t) or _AT_RISK.search(t))


def describes_someone(text: str) -> bool:
    """The message tells how someone's body is now (「床ずれが黒くなってきました」), not only a diagnosis."""
    t = _prepare(text)
    return bool(_CLINICAL.search(t) and (_ONGOING.search(t) or _OBSERVATION.search(t)))


def small_talk_kind(text: str) -> str:
    """Which courtesy a message is, so that each gets its own answer: "goodbye", "thanks", "greeting"
    or "other" (anything else outside the desk's scope)."""
    t = _prepare(text)
    for kind, pattern in _COURTESY_KINDS:
        if pattern.search(t):
            return kind
    return "other"


def good_news(text: str) -> bool:
    """Someone's health told as going well, nothing asked (「母の血圧、今朝は128/76でした。いい感じです」):
    a person is offered, not called."""
    t = _prepare(text).replace("みたい", "")  # 「調子いいみたい」 asks nothing (〜たい would)
    return bool(_GOING_WELL.search(t) and not _ASKING.search(t) and not _WORRY.search(t))


def is_small_talk(text: str) -> bool:
    """Greeting, thanks, acknowledgement, emoji only, or plainly outside the desk's scope — and no
    care, health, facility or family content at all."""
    t = _prepare(text)
    if not t or not _WORDLIKE.search(t):
        return True  # emoji, stamps, punctuation only
    if _COURTESY.search(t) and not _ASKING.search(t):
        return True  # thanks, condolences, apologies for a mistake: small talk even about a relative
    if _CARE_CONTENT.search(_PET_CARE.sub("", t)):
        return False  # (the router asks for small talk only after the red flags found nothing)
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

# A person asked for by their profession (「看護師さんと話したい」「ソーシャルワーカーの方に相談」).
_NAMED_ROLE = {"nurse": _rx(r"看護師|かんごし|ナース"),
               "msw": _rx(r"ソーシャルワーカー|msw|相談員")}
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
# 「…相談させてください」「相談に乗ってもらえますか」 about someone: the desk is asked to consult on this
# person (「どこに相談できますか」「相談できる仕組みはありますか」 ask where or whether, which the FAQ answers).
_CONSULT_REQUEST = _rx(r"相談させて(?:ください|いただ|ほし|もら)|相談に(?:乗|の)って(?:ください|ほし|もらえ|いただけ|くれ)"
                       r"|相談したい(?:です|のです|んです|と思|。|$)|個別に相談")
_WHERE_OR_WHETHER = _rx(r"どこ|ところ|窓口|仕組み|ありますか|あります?か|できますか|でしょうか|いただいた|もらった|ありがとう")
_HYPOTHETICAL = _rx(r"もし(?![てたかくな])|万一|万が一|いざ|仮に|備え|想定|なったら|の場合|ときのため")
_ONGOING = _rx(r"てきま|てきた|てきて|ています|ている|てる|でいます|出ていませ|ありません|ないです")
# Questions about the hub program itself (staffing, subsidies, plans) are never personal.
_PROGRAM_QUESTION = _rx(r"拠点|事業|補助|要件|計画書|申請書|経費|応募|採択|交付|要綱|手順書")
# asks_how_things_work: a benefit or service asked about plainly (「何日取れますか」「いつまでに」「どうして
# 2割に」「使えますか」); what keeps a message with a person: distress, and a case brought to staff by name.
_HOW_IT_WORKS = _rx(r"何日|何回|何割|いつまで|いつから|どうして(?:変わ|上が|2割|3割)|なぜ(?:変わ|上が)"
                    r"|(?:使え|もらえ|借りられ|借りれ|受けられ|出)(?:ます|る)(?:か|の|[?？])|戻って(?:くる|きま)|補助|助成|割引")
_DISTRESS = _rx(r"限界|もう無理|眠れず|眠れませ|抱えきれ|つらい|辛い|しんどい|疲れ果て|死にたい|消えたい|参って|怖い|こわい"
                r"|苦し|うつ|不安で")
# at_risk: harm to or neglect of the person cared for, money taken, following someone dead (the wish
# to die itself is the red flags' to read, live or past, in earnest or in jest).
_AT_RISK = _rx(r"(?:あと|後)を追(?:いたい|おう|う)|いなくなりたい|死んでくれ|しんでくれ|殺して(?:しま|しそう)|殺しそう|やってしまいそう|手にかけ"
               r"|道連れ|ほっといて|放って(?:おい|出)|置き去り|見捨て"
               r"|(?:食事|ごはん|ご飯)も?(?:ろくに)?(?:とって|摂って|食べて)(?:い)?な"
               r"|(?:年金|お金|通帳)を?[^。]{0,8}?(?:持って(?:いか|いっ|か)|使い込|取られ|とられ|盗られ)")
_CASE_CONSULT = _rx(r"うちの場合|個別|一緒に(?:検討|考え)|相談です|相談できる(?:方|人)|(?:MSW|ソーシャルワーカー)さん?に"
                    r"|話を聞いて|相談申し上げ|相談したく|協力して(?:くれ|もらえ)(?:ない|ませ)|悩んで|頭が割れ")

# ------------------------------------------------------------------------------------------------
# is_small_talk
# ------------------------------------------------------------------------------------------------

_WORDLIKE = re.compile(r"[0-9a-zぁ-ゖ一-鿿々〆ー]")
_SMALL_TALK = _rx(
    r"^(?:こんにちは|こんばんは|おはよう|お疲れ|おつかれ|はじめまして|初めまして|よろしく|ありがと|どうも|了解|りょうかい"
    r"|承知|わかりました|分かりました|なるほど|すみません|失礼|さようなら|またね|おやすみ)",
    r"^(?:はい|うん|ok|おけ|おっけー|いいえ|ええ)(?:[、。!！?？ー〜w]|です|でーす|$)",
    r"ありがと|助かりました|感謝|了解|承知|わかりました|分かりました|無事に済|よろしくお願い|お世話になって|おせわになって")
_OUT_OF_SCOPE = _rx(
    r"天気|雨|晴れ|雪|台風|気温|ラーメン|レストラン|お店|店を|飲食|ランチ|ディナー|カフェ|グルメ|電車|駅|バス|新幹線|時刻表|野球|サッカー"
    r"|試合|相撲|オリンピック|wi-?fi|ネット回線|インターネット|ルーター|スマホ|携帯(?:電話)?の?(?:料金|プラン|契約|機種|会社)"
    r"|格安sim|sim|電気料金|ガス料金|料金プラン"
    r"|(?:ラーメン|蕎麦|そば|寿司|焼肉|パン|ケーキ|居酒)屋|暑い|寒い|いい天気|iphone|android|機種変更|ゲーム|カラオケ"
    r"|晩ごはん|晩ご飯|夕飯|献立|レシピ|料理|マイナンバー|映画|テレビ番組|ドラマ|株価|競馬|旅行|ホテル|観光|おすすめ"
    r"|朝ドラ|番組|テレビでやって|祭り|まつり|神社|お寺|花火|紅葉|お花見|運動会|犬|猫|ペット|柴犬|わんちゃん|動物病院|獣医")
# Courtesies that carry no request: 「押し間違えました」「生前は大変お世話になりました」「ご自愛ください」.
_COURTESY_KINDS = (
    ("goodbye", _rx(r"さようなら|さよなら|またね|また今度|おやすみ|失礼します|失礼いたします|ではまた|じゃあね|ばいばい")),
    ("thanks", _rx(r"ありがと|有難う|有り難う|助かりました|助かります|感謝|お礼|おかげ|お世話になりました")),
    ("greeting", _rx(r"^(?:こんにちは|こんちは|こんばんは|おはよう|はじめまして|初めまして|よろしく|お疲れ|おつかれ|どうも|もしもし"
                     r"|hello|hi\b)")),
)
_COURTESY = _rx(r"押し間違|おしまちが|送り間違|送る相手(?:を)?間違|間違えて送|まちがえて送|無視してください|ご自愛|お世話になりました"
                r"|恐縮です|ご挨拶に伺|無事に済みました|無事に終わりました|お礼まで|本当にありがとうございました|お礼を(?:伝え|言い|申し上げ)")
_GOING_WELL = _rx(r"いい感じ|いいかんじ|調子(?:が)?(?:いい|良い|よい)|順調|安定して|元気(?:です|でした|に|そう|にして)"
                  r"|ちゃんと(?:飲|食べ|でき)|よくなって|良くなって|報告まで|ご報告まで|一安心|ひと安心|安心しました")
_WORRY = _rx(r"心配|不安|気になる|気になって|こわい|怖い|でも|けど|ただ|一方|まだ|が、")
_ASKING = _rx(r"[?？]|ですか|ますか|でしょうか|ください(?!ませ)|下さい|たい|ほしい|教えて|どう(?:すれば|したら)|相談")
# A pet's doctor is not the desk's business.
_PET_CARE = _rx(r"動物病院|獣医")
_CARE_CONTENT = _rx(
    r"介護|かいご|看護|かんご|医療|いりょう|病院|びょういん|診療|クリニック|医師|先生|薬|くすり|施設|しせつ|ケア|訪問|在宅"
    r"|症状|具合|ぐあい|体調|熱|痛|病気|怪我|けが|入院|退院|通院|保険|ショート|デイ|ヘルパー|包括|拠点|相談|費用|負担"
    r"|母|父|夫|妻|主人|祖母|祖父|息子|娘|家族|利用者|患者|本人|おばあ|おじい|ばあちゃん|じいちゃん|赤ちゃん|認知症|要介護"
    r"|救急|119|7119|呼吸|意識|血|死|苦し|つらい|限界|助けて|たすけて|親|預け|あずけ|歯|はいしゃ|びょう|いしゃ|医者"
    r"|ケアマネ|看取|リハビリ|車いす|車椅子|おむつ|送迎|事業|補助|災害|備品|申請|計画|吸引|aed")
